package app

import (
	"context"
	"maps"
	"net/netip"
	"time"

	"github.com/go-logr/logr"

	"github.com/barelb/barelb/internal/damping"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Link-aware election: every speaker gossips its LAN interfaces (name,
// MAC, up, subnets) in memberlist's node metadata, and every speaker
// plans with the same gossiped view, so a node alive on its management
// network but cut from the LAN loses its IPs within a gossip round.

// nodeMeta is this node's memberlist metadata for the announcer's link
// states.
func nodeMeta(states []layer2.LinkState) members.NodeMeta {
	var m members.NodeMeta
	for _, s := range states {
		m.Interfaces = append(m.Interfaces, members.Interface{Name: s.Name, MAC: s.MAC, Up: s.Up, Prefixes: s.Prefixes})
	}
	return m
}

// unknownLinks is what carriersFrom returns for a node whose links it
// does not know: not a real interface name, only "eligible".
var unknownLinks = []string{"(links unknown)"}

// carriersFrom is l2plan's Carriers over one read of the gossiped
// metadata. A node without metadata (an older speaker, or one not heard
// from yet) or with no interfaces in it (a speaker that has not scanned
// its links yet: its first metadata is empty) stays eligible: unknown
// links are not down links.
func carriersFrom(metas map[string]members.NodeMeta, ignore func(string) bool) func(string, netip.Addr, []string) ([]string, string) {
	return func(node string, ip netip.Addr, allowed []string) ([]string, string) {
		m, ok := metas[node]
		if !ok || len(m.Interfaces) == 0 {
			return unknownLinks, ""
		}
		return members.Carriers(m, ip, allowed, ignore)
	}
}

// settlingFrom is, per node, whether its gossiped metadata says it is
// settling (damped fail-back). A node without metadata is settled:
// older speakers do not damp.
func settlingFrom(metas map[string]members.NodeMeta) map[string]bool {
	out := map[string]bool{}
	for n, m := range metas {
		if m.Settling {
			out[n] = true
		}
	}
	return out
}

// metaPublisher gossips this node's metadata whenever part of it
// changes: its link states (the announcer reports a change on links)
// and whether it is settling, which changes on a link change, on
// membership changes (being alone, see internal/damping) and when the
// settling time runs out. It always publishes the latest states, so a
// burst of changes costs one broadcast.
type metaPublisher struct {
	ml     *members.Members
	l2     *layer2.Announcer
	log    logr.Logger
	settle damping.Tracker
	// links and membership are signalled (non-blocking, capacity 1) on
	// link and membership changes.
	links, membership <-chan struct{}
}

func (p *metaPublisher) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var prevUp map[string]bool
	for {
		now := time.Now()
		states := p.l2.LinkStates()
		up := map[string]bool{}
		for _, s := range states {
			up[s.Name] = s.Up
		}
		// The first scan (no states before it) is the start, already
		// counted; any later difference is a link changing state.
		if len(prevUp) > 0 && !maps.Equal(prevUp, up) {
			p.settle.Kick(now)
		}
		prevUp = up
		p.settle.Alone(now, len(p.ml.Alive()) <= 1)
		meta := nodeMeta(states)
		meta.Settling = p.settle.Settling(now)
		if err := p.ml.SetMeta(meta, time.Second); err != nil {
			p.log.Error(err, "gossiping this node's metadata")
		}
		if d, ok := p.settle.Next(time.Now()); ok {
			timer.Reset(d)
		} else {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-p.links:
		case <-p.membership:
		case <-timer.C:
		}
	}
}
