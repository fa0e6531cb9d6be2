package app

// BGP mode of the speaker: the BGP reconciler reads the same snapshot as
// the layer 2 one, asks internal/bgpplan what this node runs, and hands
// the result to the GoBGP server (internal/bgp).

import (
	"context"
	"errors"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/types"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/bgpplan"
	"github.com/barelb/barelb/internal/bgpproc"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
)

// +kubebuilder:rbac:groups=metallb.io,resources=bgppeers;bgpadvertisements;communities;bfdprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=metallb.io,resources=bgppeers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=metallb.io,resources=servicebgpstatuses,verbs=get;list;watch;create;update;patch;delete;deletecollection
// +kubebuilder:rbac:groups=metallb.io,resources=servicebgpstatuses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",namespace=metallb-system,resources=secrets,verbs=get;list;watch

// BGPServer is what the speaker needs of internal/bgp's Server, which
// runs in the BGP process (bgpproc.Client is the speaker's handle on it).
// A test may drive a server whose sockets live in another network
// namespace, or none.
type BGPServer = bgpproc.Server

// NewBGPServerFunc creates the node's server once its router ID (the
// node's IPv4 InternalIP, possibly invalid) is known.
type NewBGPServerFunc func(routerID netip.Addr) (BGPServer, error)

// Event reasons of the BGP component.
const (
	ReasonBGPAdvertised    = "nodeAssigned" // MetalLB's reason on Services
	ReasonBGPWithdrawn     = "BGPWithdrawn"
	ReasonPeerRefused      = "PeerRefused"
	ReasonAdvertisementBad = "AdvertisementRefused"
	ReasonSessionUp        = "SessionEstablished"
	ReasonSessionDown      = "SessionDown"
)

// BGPReconciler runs this node's BGP sessions and announcements from the
// cluster's objects. Reconcile is level-based; Events are sent once per
// change of their message.
type BGPReconciler struct {
	c         kclient.Client
	api       kclient.Reader // uncached reads, where the cache may lag
	tell      *kube.Teller
	opts      Options
	newServer NewBGPServerFunc

	mu     sync.Mutex // serialises Reconcile and Shutdown; guards srv, closed, served
	srv    BGPServer
	closed bool
	served map[string]bool // Services advertised after the last reconcile
	// advertised is how many advertisements the last reconcile set, to
	// log each change once.
	advertised int
	// applied is the configuration of the last reconcile: advertisements
	// held back for an undefined community alias keep their version from
	// it (config.Config.KeepHeldBack).
	applied *config.Config
	// statuses writes ServiceBGPStatus objects off the reconcile path, so
	// routes never wait for them; it runs in Start.
	statuses *statusSyncer
	// submit hands a write to statuses (tests run it inline).
	submit func(kind string, sync func(context.Context) error)
	// state, if set, is this speaker's ConfigurationState, which gets the
	// per-IP BGP verdicts of the last plan (verdicts) with the session
	// states applied, on every reconcile and when a session changes.
	state    *speakerState
	verdicts map[netip.Addr]bgpplan.IPVerdict
	// waitNeighbor: an unnumbered peer had no link-local neighbour yet
	// at the last reconcile; nothing in the cluster changes when one
	// appears, so Reconcile asks to run again.
	waitNeighbor bool
	// unnumberedDown: an unnumbered session was down at the last
	// reconcile; the server looks for a new neighbour only when asked.
	unnumberedDown bool
	// keep is the snapshot's cache between passes (passes are
	// serialised: one loop, or a test calling ReconcileOnce).
	keep snapCache
}

// useState makes the component publish its per-IP verdicts and sessions
// in s, which then waits for them before its first write.
func (b *BGPReconciler) useState(s *speakerState) {
	s.expectBGP = true
	b.state = s
}

// publishState hands the BGP part to the ConfigurationState when it
// changed; the write happens off the reconcile path. Called with b.mu held
// or from the session watcher with the values it read under it.
func (b *BGPReconciler) publishState(ctx context.Context, cfg *config.Config, verdicts map[netip.Addr]bgpplan.IPVerdict, srv BGPServer) {
	if b.state == nil {
		return
	}
	var sessions []bgpmodel.PeerState
	if srv != nil {
		sessions = srv.PeerStates(ctx)
	}
	if !b.state.setBGP(bgpStateOf(cfg, verdicts, sessions), cfg) {
		return
	}
	lg := logr.FromContextOrDiscard(ctx)
	b.submit("state", func(sctx context.Context) error {
		if err := b.state.flush(sctx); err != nil {
			lg.Error(err, "updating this speaker's ConfigurationState (BGP)")
			return err
		}
		return nil
	})
}

// NewBGPReconciler returns the component; no GoBGP runs until a BGPPeer
// selects the node. rec sends its Events.
func NewBGPReconciler(c kclient.Client, api kclient.Reader, rec kclient.EventRecorder, opts Options, newServer NewBGPServerFunc) *BGPReconciler {
	b := &BGPReconciler{c: c, api: api, tell: kube.NewTeller(rec), opts: opts, newServer: newServer,
		served: map[string]bool{}, statuses: newStatusSyncer()}
	b.submit = b.statuses.submit
	return b
}

// Reconcile reads the snapshot and makes the node's BGP state match it.
// BGP mode does not use memberlist: a node whose speaker is down stops
// announcing by itself when its sessions drop.
// It returns when to run again without a change in the cluster (0: not).
func (b *BGPReconciler) Reconcile(ctx context.Context) (time.Duration, error) {
	err := b.ReconcileOnce(ctx)
	b.mu.Lock()
	wait, down := b.waitNeighbor, b.unnumberedDown
	b.mu.Unlock()
	switch {
	case wait:
		return neighborRetry, err
	case down:
		return neighborRecheck, err
	}
	return 0, err
}

// neighborRetry is how soon an unnumbered peer without a neighbour is
// looked for again: the router's next Router Advertisement is at most
// seconds away on a fabric link. neighborRecheck is how often the server
// is asked to look again for the neighbour of an unnumbered session that
// is down (the router behind the link may have been replaced); each look
// may wait a second for a Router Advertisement.
const (
	neighborRetry   = 2 * time.Second
	neighborRecheck = 10 * time.Second
)

// ReconcileOnce is one level-based pass (also the entry point of tests
// that drive the component without a manager).
func (b *BGPReconciler) ReconcileOnce(ctx context.Context) error {
	snap, err := readSnapshot(ctx, b.c, b.opts, nil, &b.keep)
	if err != nil {
		return fmt.Errorf("bgp: %w", err)
	}
	return b.reconcile(ctx, snap)
}

func (b *BGPReconciler) reconcile(ctx context.Context, snap *snapshot) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	cfg, byKey := snap.cfg, snap.byKey
	cfg.KeepHeldBack(b.applied)
	b.applied = cfg
	var errs []error
	errs = append(errs, b.syncPeerConditions(ctx, cfg, snap.peers))
	// Without its Node object the node advertises nothing (bgpplan says
	// why) and no server is started, as the router ID is unknown.
	found := snap.self != nil
	var v4, v6 netip.Addr
	if found {
		v4, v6 = nodeIPs(snap.self)
	}
	plan := bgpplan.Compute(bgpplan.Input{
		Config: cfg, Node: b.opts.NodeName, Nodes: snap.nodes, Services: snap.svcs,
		Passwords: b.passwords(ctx, cfg), IPv6NextHop: v6,
	})
	for _, p := range plan.Problems {
		logr.FromContextOrDiscard(ctx).Info("BGP plan skipped an input", "problem", p)
	}
	lg := logr.FromContextOrDiscard(ctx)
	b.verdicts = plan.IPs
	syncStatuses := func() {
		b.submit("bgp", func(sctx context.Context) error {
			return b.syncBGPStatuses(logr.NewContext(sctx, lg), plan.Services, byKey)
		})
		b.publishState(ctx, cfg, plan.IPs, b.srv)
	}
	if b.srv == nil && (len(plan.Peers) == 0 || !found) {
		b.report(ctx, plan, byKey, snap.peers, snap.bgpAdvs, nil, nil)
		syncStatuses()
		return errors.Join(errs...)
	}
	if b.srv == nil {
		srv, err := b.newServer(v4)
		if err != nil {
			b.publishState(ctx, cfg, plan.IPs, nil)
			return errors.Join(append(errs, fmt.Errorf("starting BGP server: %w", err))...)
		}
		b.srv = srv
	}
	// Advertisements first: a new session then sends its whole table
	// right after OPEN (see internal/bgp's doc on graceful restart).
	began := time.Now()
	adErr := b.srv.SetAdvertisements(ctx, plan.Advertisements)
	peerErr := b.srv.SetPeers(ctx, plan.Peers)
	b.waitNeighbor = errors.Is(peerErr, bgpmodel.ErrNoNeighbor)
	b.unnumberedDown = false
	if slices.ContainsFunc(plan.Peers, func(p bgpmodel.Peer) bool { return p.Interface != "" }) {
		// PeerStates counts advertised paths: only when there is an
		// unnumbered peer to look after.
		for _, st := range b.srv.PeerStates(ctx) {
			b.unnumberedDown = b.unnumberedDown || (st.Interface != "" && st.State != bgpmodel.StateEstablished)
		}
	}
	routed := time.Since(began)
	b.report(ctx, plan, byKey, snap.peers, snap.bgpAdvs, peerErr, adErr)
	syncStatuses()
	if n := len(plan.Advertisements); n != b.advertised {
		lg.Info("BGP advertisements changed", "prefixes", n, "was", b.advertised, "setIn", routed.Round(time.Millisecond))
		b.advertised = n
	}
	return errors.Join(errs...)
}

// passwords reads the passwordSecrets the peers name. Only usable
// Secrets are returned; bgpplan refuses peers whose Secret is missing.
// Values are never logged.
func (b *BGPReconciler) passwords(ctx context.Context, cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, p := range cfg.Peers {
		if p.PasswordSecret == "" {
			continue
		}
		if _, done := out[p.PasswordSecret]; done {
			continue
		}
		var s corev1.Secret
		if err := b.c.Get(ctx, types.NamespacedName{Namespace: b.opts.Namespace, Name: p.PasswordSecret}, &s); err != nil {
			continue
		}
		pw, ok := s.Data["password"]
		if s.Type != corev1.SecretTypeBasicAuth || !ok {
			continue
		}
		out[p.PasswordSecret] = string(pw)
	}
	return out
}

// Shutdown withdraws routes (see internal/bgp's Server.Shutdown) and stops the
// component; later Reconciles do nothing.
func (b *BGPReconciler) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.srv == nil {
		return nil
	}
	return b.srv.Shutdown(ctx)
}

// nodeIPs returns the node's first IPv4 and IPv6 InternalIP.
func nodeIPs(n *corev1.Node) (v4, v6 netip.Addr) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() && !v4.IsValid() {
			v4 = ip
		} else if ip.Is6() && !v6.IsValid() {
			v6 = ip
		}
	}
	return v4, v6
}

// watchSessions emits an Event on a BGPPeer when its session on this
// node comes up or goes down. Sessions change without any object
// changing, so this polls the in-memory state instead of reconciling.
func (b *BGPReconciler) watchSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		srv, closed, cfg, verdicts := b.srv, b.closed, b.applied, b.verdicts
		b.mu.Unlock()
		if srv == nil || closed {
			continue
		}
		b.publishState(ctx, cfg, verdicts, srv)
		for _, st := range srv.PeerStates(ctx) {
			// Unstructured, from the cache the configuration is read
			// from (see kube.ListConfig): only the Event's object.
			p := kube.ConfigObject(config.KindPeer)
			if err := b.c.Get(ctx, types.NamespacedName{Namespace: b.opts.Namespace, Name: st.Name}, p); err != nil {
				continue
			}
			kind, reason, msg := sessionEvent(b.opts.NodeName, st)
			b.tell.Tell(p, kube.EventKey{Kind: "BGPPeer", Namespace: p.GetNamespace(), Name: p.GetName(), Topic: "session"}, kind, reason, "BGP", msg)
		}
	}
}

// sessionEvent is the Event for a session's state: up, or down with why,
// including BFD's view when the peer runs BFD (a BFD session down holds
// the BGP session down until BFD is up again).
func sessionEvent(node string, st bgpmodel.PeerState) (kind, reason, msg string) {
	if st.State == bgpmodel.StateEstablished {
		return corev1.EventTypeNormal, ReasonSessionUp, fmt.Sprintf("BGP session from node %q to %s is established", node, st.Address)
	}
	msg = fmt.Sprintf("BGP session from node %q to %s is not established", node, st.Address)
	if st.LastError != "" {
		msg += ": " + st.LastError
	}
	if st.BFD == bgpmodel.BFDDown && !strings.Contains(st.LastError, "BFD") {
		msg += "; BFD down"
		if st.BFDDiag != "" {
			msg += " (" + st.BFDDiag + ")"
		}
	}
	return corev1.EventTypeWarning, ReasonSessionDown, msg
}

// Start runs the status writer and the session watcher (a manager Runnable).
func (b *BGPReconciler) Start(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); _ = b.statuses.Start(ctx) }()
	b.watchSessions(ctx, 2*time.Second)
	<-done
	return nil
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "no peer"
	}
	return strings.Join(names, ", ")
}
