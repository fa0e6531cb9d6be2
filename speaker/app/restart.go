package app

import (
	"context"
	"errors"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"k8s.io/apimachinery/pkg/types"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
)

// Planned restarts. When the speaker DaemonSet is rolled (helm upgrade,
// kubectl rollout restart) each node's speaker is replaced by a new one
// seconds later, while the node, its links and its kube-proxy stay. The
// usual leave (the others take the addresses over at once) and the
// successor's damped return would move each address away and back,
// cutting the connections in flight twice. Instead a speaker that sees
// its DaemonSet's template changed since it started
//
//   - leaves word for its successor in --state-dir (a hostPath under /run:
//     kept across container restarts, gone at a reboot, when the node
//     really was away), valid for --restart-hold;
//   - tells every other speaker (members.AnnounceRestart), which hold its
//     node as a member until the successor joins or the hold runs out;
//   - leaves memberlist and exits at once, keeping its status objects:
//     the addresses stay on this node.
//
// The successor finds the word and does not settle (damping.Resume): it
// takes over exactly what its predecessor carried. Meanwhile nobody
// answers ARP/NDP for the node's addresses, but the LAN's neighbour
// caches still point at the node and its kube-proxy forwards; a client
// that must resolve an address anew in the gap retries within seconds.
// A deleted speaker Pod, a drained or shut down node and an uninstall
// (no template change, or the DaemonSet going) fail over as before.
//
// +kubebuilder:rbac:groups=apps,namespace=metallb-system,resources=daemonsets,verbs=get

// plannedRestart decides at exit whether this is a planned restart.
type plannedRestart struct {
	api  kclient.Reader
	opts Options
	log  logr.Logger
	// gen is the DaemonSet's generation when this speaker started; 0
	// until known (then no exit is a planned restart).
	gen atomic.Int64
}

func (p *plannedRestart) enabled() bool {
	o := p.opts
	return o.RestartHold > 0 && o.DaemonSet != "" && o.StateDir != "" && !o.MemberlistDisabled
}

// start records the DaemonSet's generation. It runs beside start-up: a
// template change that lands before it answers only makes this speaker's
// exit an ordinary one.
func (p *plannedRestart) start(ctx context.Context) {
	if !p.enabled() {
		return
	}
	ds, err := p.daemonSet(ctx)
	if err != nil {
		p.log.Error(err, "reading this speaker's DaemonSet; its exit will hand its addresses over as usual", "daemonset", p.opts.DaemonSet)
		return
	}
	p.gen.Store(ds.Generation)
}

// planned reports whether the DaemonSet's template changed since start
// and the DaemonSet stays (a rolling update, not an uninstall).
func (p *plannedRestart) planned(ctx context.Context) (bool, string) {
	start := p.gen.Load()
	if !p.enabled() || start == 0 {
		return false, ""
	}
	ds, err := p.daemonSet(ctx)
	switch {
	case err != nil: // cannot tell: hand over as usual
		p.log.Error(err, "reading this speaker's DaemonSet at exit; handing its addresses over as usual")
		return false, ""
	case ds.DeletionTimestamp != nil:
		return false, ""
	case ds.Generation == start:
		return false, ""
	}
	return true, fmt.Sprintf("DaemonSet %s changed (generation %d -> %d)", ds.Name, start, ds.Generation)
}

func (p *plannedRestart) daemonSet(ctx context.Context) (*appsv1.DaemonSet, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	ds := &appsv1.DaemonSet{}
	err := p.api.Get(ctx, types.NamespacedName{Namespace: p.opts.Namespace, Name: p.opts.DaemonSet}, ds)
	return ds, err
}

// restartMarker is the word a replaced speaker leaves for its successor:
// one file per node (lab nodes may share a host's /run), holding the time
// until which it is valid.
func restartMarker(dir, node string) string {
	return filepath.Join(dir, node+".restart")
}

// leaveWord writes the marker for a successor starting before until.
func leaveWord(dir, node string, until time.Time) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := restartMarker(dir, node)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(until.UTC().Format(time.RFC3339Nano)+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// takeWord reads and removes the marker: resumed is true when a
// predecessor left it and it is still valid at now. No marker is not an
// error.
func takeWord(dir, node string, now time.Time) (resumed bool, err error) {
	if dir == "" {
		return false, nil
	}
	path := restartMarker(dir, node)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if rerr := os.Remove(path); rerr != nil {
		return false, rerr
	}
	until, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b)))
	if err != nil {
		return false, fmt.Errorf("restart marker %s: %w", path, err)
	}
	return now.Before(until), nil
}
