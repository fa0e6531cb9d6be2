package app

import (
	"context"
	"maps"
	"net/netip"
	"sync/atomic"
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
	// cutOff records when one of this node's interfaces last came up
	// (see cutOff); rejoin (capacity 1) asks the joiner to look for the
	// other speakers at once; trigger re-plans.
	cutOff  *cutOff
	rejoin  chan<- struct{}
	trigger func()
}

// rejoinGrace bounds how long a node that sees no other speaker after
// one of its interfaces came up announces nothing (cutOff.hold).
const rejoinGrace = 2 * time.Second

// cutOff tells a node that was cut off from the LAN from one whose peers
// died. A node whose link was down sees every other speaker dead and,
// alone, elects itself for every address; when the link comes back, its
// gratuitous bursts would pull the clients over from the nodes that
// really own the addresses now, until the membership heals a moment
// later. So for rejoinGrace after an interface of this node came up,
// while it still sees no other speaker, it announces nothing: long enough
// for one join round, and short for a node that really is the last one.
type cutOff struct{ lastUp atomic.Int64 }

// hold is how much longer to announce nothing: positive only when this
// node sees no other speaker alive (alive is memberlist's view, this
// node included) in a cluster of several nodes and one of its
// interfaces came up less than rejoinGrace ago.
func (c *cutOff) hold(alive map[string]bool, nodes int) time.Duration {
	if c == nil || len(alive) > 1 || nodes < 2 {
		return 0
	}
	up := c.lastUp.Load()
	if up == 0 {
		return 0
	}
	return max(0, rejoinGrace-time.Since(time.Unix(0, up)))
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
			if cameUp(prevUp, up) && p.cutOff != nil {
				p.cutOff.lastUp.Store(now.UnixNano())
				select {
				case p.rejoin <- struct{}{}:
				default:
				}
				p.trigger()
			}
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

// cameUp reports whether an interface is up in cur that was not in prev.
func cameUp(prev, cur map[string]bool) bool {
	for name, up := range cur {
		if up && !prev[name] {
			return true
		}
	}
	return false
}
