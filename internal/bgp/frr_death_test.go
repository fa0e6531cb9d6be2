package bgp

import (
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/frrlab"
)

// TestFRRSpeakerDeath: how fast the router stops sending traffic to a node
// whose speaker goes away, three ways. Hold time is 3s on both sides.
//
//   - Frozen (SIGSTOP: sockets stay open, no KEEPALIVEs, like a hung node):
//     the path goes when the router's hold timer expires, not before.
//   - Killed (SIGKILL: no NOTIFICATION, the kernel closes the socket): the
//     router sees the TCP connection close and drops the path at once.
//   - Shut down (Server.Shutdown): withdrawals and a Cease, at once.
func TestFRRSpeakerDeath(t *testing.T) {
	tp := newTopo(t, 3, routerConf(3))
	var sps []*speaker
	for i, ns := range tp.nodes {
		sps = append(sps, announcing(t, ns, Options{RouterID: nodeV4(i)}, nodePeer(i)))
	}
	wantNexthops(t, tp.router, lbIP, 20*time.Second, nodeV4(0), nodeV4(1), nodeV4(2))

	start := time.Now()
	sps[0].Freeze()
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(1), nodeV4(2))
	frozen := time.Since(start)
	t.Logf("frozen speaker: path withdrawn after %v (hold time 3s)", frozen.Round(time.Millisecond))
	// The last KEEPALIVE left at most 1s before the freeze, so the hold
	// timer cannot have expired sooner than 2s after it.
	if frozen < 1900*time.Millisecond {
		t.Errorf("path withdrawn %v after the freeze, before the hold timer could expire", frozen)
	}
	raw, err := tp.router.Vtysh("show bgp neighbors " + nodeV4(0).String() + " json")
	check.Must(t, err)
	if !strings.Contains(raw, "Hold Timer Expired") {
		t.Errorf("router does not report a hold timer expiry for the frozen node:\n%s", raw)
	}
	sps[0].Kill()

	start = time.Now()
	sps[1].Kill()
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(2))
	killed := time.Since(start)
	t.Logf("killed speaker: path withdrawn after %v", killed.Round(time.Millisecond))
	if killed > 1500*time.Millisecond {
		t.Errorf("killed speaker's path took %v to go; the closed socket should end the session at once", killed)
	}

	start = time.Now()
	sps[2].Shutdown()
	wantNexthops(t, tp.router, lbIP, 10*time.Second)
	shut := time.Since(start)
	t.Logf("Shutdown: path withdrawn after %v (including the Shutdown call)", shut.Round(time.Millisecond))
	if shut > time.Second {
		t.Errorf("Shutdown took %v to withdraw", shut)
	}
	ns, err := tp.router.Neighbors()
	check.Must(t, err)
	if n := ns[nodeV4(2).String()]; n.Established() {
		t.Errorf("session still up after Shutdown: %+v", n)
	}
	sps[2].Exit()
}

// TestFRRGracefulRestart: with graceful restart negotiated, Shutdown and
// process exit leave the route in the router's FIB (stale) instead of
// withdrawing it, and the restarted speaker refreshes it without the
// route ever leaving the FIB.
func TestFRRGracefulRestart(t *testing.T) {
	tp := newTopo(t, 1, routerConf(1, "bgp graceful-restart"))
	peer := nodePeer(0)
	peer.GracefulRestart = true
	run := func() *speaker {
		return announcing(t, tp.nodes[0], Options{RouterID: nodeV4(0), GracefulRestartTime: 30 * time.Second}, peer)
	}
	sp := run()
	waitEstablished(t, sp, "tor")
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0))

	sp.Shutdown()
	sp.Exit()
	check.Eventually(t, 10*time.Second, "router marks the path stale", onePath(tp.router, true))
	if got := fibNexthops(t, tp.router, lbIP); len(got) != 1 {
		t.Fatalf("route left the FIB during graceful restart: %v", got)
	}

	sp = run()
	waitEstablished(t, sp, "tor")
	check.Eventually(t, 10*time.Second, "path refreshed after the restart", onePath(tp.router, false))
	wantNexthops(t, tp.router, lbIP, time.Second, nodeV4(0))

	// Withdrawing before Shutdown (a node leaving for good) removes the
	// route even with graceful restart.
	sp.SetAds()
	sp.Shutdown()
	wantNexthops(t, tp.router, lbIP, 5*time.Second)
}

// onePath is a check that the router holds one path for lbIP, stale (kept
// through a graceful restart) or fresh as wanted.
func onePath(r *frrlab.Router, stale bool) func() error {
	return func() error {
		paths, err := r.BGPPaths(lbIP)
		if err != nil {
			return err
		}
		if len(paths) != 1 || paths[0].Stale != stale {
			return errorf("paths %+v, want one, stale %v", paths, stale)
		}
		return nil
	}
}
