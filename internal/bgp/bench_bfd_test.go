package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// BenchmarkFRRBFDFailover measures what BFD is for: a node's link is cut
// without any TCP reset (every packet on its eth0 dropped, no RST, no FIN,
// no carrier event), and the time until the node's next hop is gone from
// the router's kernel table (a netlink subscription in the router
// namespace) is taken over several cuts, healing and waiting for the
// session, BFD and the route to be back in between:
//
//   - with BFD, 300 ms x 3 on both sides and a 30 s hold time, so that
//     only BFD can be what withdraws the route;
//   - without BFD, with a 3 s hold time (1 s keepalives), the shortest
//     RFC 4271 allows: the hold timer is all there is.
//
// It sets up two labs in turn, so run it once:
//
//	go test ./internal/bgp -run '^$' -bench FRRBFDFailover -benchtime 1x
func BenchmarkFRRBFDFailover(b *testing.B) {
	const cuts = 10
	withBFD := bfdFailover(b, true, cuts)
	without := bfdFailover(b, false, cuts)
	b.StopTimer()
	p50, p99 := reportPercentiles(b, "bfd", withBFD)
	n50, n99 := reportPercentiles(b, "hold3s", without)
	fmt.Printf("link cut without TCP reset -> next hop gone from the router's kernel table, %d cuts each:\n", cuts)
	fmt.Printf("  BFD 300ms x 3 (hold time 30s): p50 %v  p99 %v  min %v  max %v\n", p50, p99, slices.Min(withBFD), slices.Max(withBFD))
	fmt.Printf("  no BFD, hold time 3s:           p50 %v  p99 %v  min %v  max %v\n", n50, n99, slices.Min(without), slices.Max(without))
}

func bfdFailover(b *testing.B, bfd bool, cuts int) []time.Duration {
	b.Helper()
	hold, wantBFD := 3, ""
	if bfd {
		hold, wantBFD = 30, BFDUp
	}
	tp := newTopo(b, 1, bfdRouterConf(1, hold, bfd))
	if bfd {
		startBFDD(b, tp.router)
	}
	w := watchRoutes(b, tp.rtr)
	peer := nodePeer(0)
	peer.HoldTime, peer.KeepaliveTime = time.Duration(hold)*time.Second, time.Duration(hold/3)*time.Second
	if bfd {
		peer.BFD = fastBFD
	}
	sp := announcing(b, tp.nodes[0], Options{RouterID: nodeV4(0)}, peer)
	present := func(m map[netip.Prefix]routeSeen) bool { _, ok := m[lbIP]; return ok }
	var out []time.Duration
	for i := range cuts {
		waitSteady(b, sp, tp.router, "tor", wantBFD, nodeV4(0))
		if _, err := w.wait(time.Second, present); err != nil {
			b.Fatalf("cut %d: route not in the router's kernel table before the cut: %v", i, err)
		}
		cut := cutLink(b, tp.nodes[0])
		start := time.Now()
		at, err := w.wait(time.Duration(hold+5)*time.Second, func(m map[netip.Prefix]routeSeen) bool { return !present(m) })
		if err != nil {
			b.Fatalf("cut %d (BFD %v): %v", i, bfd, err)
		}
		out = append(out, at.Sub(start))
		cut.heal(b)
	}
	return out
}
