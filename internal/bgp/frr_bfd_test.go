package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/bfdlab"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// fastBFD is the 300 ms x 3 profile.
var fastBFD = bgpmodel.BFDProfile{Name: "fast", ReceiveInterval: 300 * time.Millisecond,
	TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 3}

// bfddConf is the router's bfdd profile matching fastBFD.
const bfddConf = `bfd
 profile fast
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
`

// bfdRouterConf is routerConf with the node sessions' hold time raised to
// holdSec (so that only BFD can withdraw a route quickly) and, with bfd,
// BFD on them.
func bfdRouterConf(n, holdSec int, bfd bool) string {
	extra := []string{fmt.Sprintf("neighbor NODES timers %d %d", max(holdSec/3, 1), holdSec)}
	if bfd {
		// With its source address fixed, bgpd registers the BFD session
		// with bfdd under its final key at once; otherwise it re-registers
		// when the session comes up, and bfdd's replacement session takes
		// BFD, and with it BGP, down once right after the first OPEN.
		extra = append(extra, "neighbor NODES update-source "+routerV4.String(), "neighbor NODES bfd", "neighbor NODES bfd profile fast")
	}
	return routerConf(n, extra...)
}

// startBFDD runs bfdd beside the topology's router, stopped at cleanup.
func startBFDD(t testing.TB, r *frrlab.Router) *bfdlab.BFDD {
	t.Helper()
	b, err := bfdlab.StartBFDD(r, bfddConf)
	check.Must(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bfdd log:\n%s", b.Log())
		}
		b.Close()
	})
	return b
}

// linkCut drops every packet on a namespace's eth0 in both directions with
// nftables: no RST, no FIN, no ICMP and no carrier event reach anyone, as
// when a cable or a switch port dies.
type linkCut struct{ ns *netlab.Namespace }

const linkCutTable = "barelblinkcut"

func cutLink(t testing.TB, ns *netlab.Namespace) *linkCut {
	t.Helper()
	for _, args := range [][]string{
		{"add", "table", "inet", linkCutTable},
		{"add", "chain", "inet", linkCutTable, "in", "{", "type", "filter", "hook", "input", "priority", "-300", ";", "}"},
		{"add", "chain", "inet", linkCutTable, "out", "{", "type", "filter", "hook", "output", "priority", "-300", ";", "}"},
		{"add", "rule", "inet", linkCutTable, "in", "iifname", "eth0", "drop"},
		{"add", "rule", "inet", linkCutTable, "out", "oifname", "eth0", "drop"},
	} {
		check.Must(t, ns.Exec(append([]string{"nft"}, args...)...))
	}
	c := &linkCut{ns: ns}
	t.Cleanup(func() { _ = ns.Exec("nft", "delete", "table", "inet", linkCutTable) })
	return c
}

func (c *linkCut) heal(t testing.TB) {
	t.Helper()
	check.Must(t, c.ns.Exec("nft", "delete", "table", "inet", linkCutTable))
}

// waitBFD waits until the speaker reports the peer's BFD state.
func waitBFD(t testing.TB, sp *speaker, name, want string, timeout time.Duration) PeerState {
	t.Helper()
	var st PeerState
	check.Eventually(t, timeout, fmt.Sprintf("%s BFD of %s %s", sp.ns.Name, name, want), func() error {
		if st = sp.State(name); st.BFD != want {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})
	return st
}

// waitFRRBFD waits until bfdd's session with addr has status want.
func waitFRRBFD(t testing.TB, b *bfdlab.BFDD, addr, want string, timeout time.Duration) bfdlab.Peer {
	t.Helper()
	var p bfdlab.Peer
	check.Eventually(t, timeout, fmt.Sprintf("FRR BFD peer %s %s", addr, want), func() error {
		var err error
		if p, err = b.PeerByAddr(addr); err != nil {
			return err
		}
		if p.Status != want {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	return p
}

// waitSteady waits until the session is established with BFD in state
// wantBFD and the route in the router's FIB, and has stayed so for two
// seconds: FRR's
// bgpd re-registers its BFD session once the first session is up (now
// with the interface), and bfdd's replacement session signals Down to
// the speaker, so the first session goes down once, on both sides.
func waitSteady(t testing.TB, sp *speaker, r *frrlab.Router, name, wantBFD string, nexthop netip.Addr) {
	t.Helper()
	var since time.Time
	check.Eventually(t, 30*time.Second, sp.ns.Name+" session "+name+" steady, BFD "+wantBFD, func() error {
		st := sp.State(name)
		nh := fibNexthops(t, r, lbIP)
		if st.State != StateEstablished || st.BFD != wantBFD || !slices.Equal(nh, []string{nexthop.String()}) {
			since = time.Time{}
			return fmt.Errorf("%+v, FIB next hops %v", st, nh)
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) < 2*time.Second {
			return fmt.Errorf("up for %v only", time.Since(since).Round(time.Millisecond))
		}
		return nil
	})
}

// metricValue is the value of the sample series (name and labels as
// printed) in a text exposition.
func metricValue(t testing.TB, text, series string) float64 {
	t.Helper()
	for _, l := range strings.Split(text, "\n") {
		if v, ok := strings.CutPrefix(l, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			check.Must(t, err)
			return f
		}
	}
	t.Fatalf("no %s in\n%s", series, text)
	return 0
}

// TestFRRBFD: a BGP session with BFD (300 ms x 3 on both sides, hold time
// 30 s) against FRR's bgpd and bfdd. Cutting the node's link without any
// TCP reset takes the route out of FRR's FIB within the BFD detection
// time instead of the hold time; the speaker reports BFD down as the
// reason its session is down; healing the link brings BFD, the session and
// the route back. A timer change then reaches FRR by a Poll Sequence
// without resetting the BGP session.
func TestFRRBFD(t *testing.T) {
	const hold = 30
	tp := newTopo(t, 1, bfdRouterConf(1, hold, true))
	bfdd := startBFDD(t, tp.router)
	peer := nodePeer(0)
	peer.HoldTime, peer.KeepaliveTime, peer.BFD = hold*time.Second, hold/3*time.Second, fastBFD
	sp := announcing(t, tp.nodes[0], Options{RouterID: nodeV4(0)}, peer)
	waitSteady(t, sp, tp.router, "tor", BFDUp, nodeV4(0))
	fp := waitFRRBFD(t, bfdd, nodeV4(0).String(), "up", 15*time.Second)
	if fp.RemoteTransmitInterval != 300 || fp.RemoteDetectMultiplier != 3 || fp.Multihop {
		t.Errorf("FRR sees the speaker's BFD as %+v, want single-hop 300 ms x 3", fp)
	}
	ns, err := tp.router.Neighbors()
	check.Must(t, err)
	n := ns[nodeV4(0).String()]
	if n.HoldTimeMsecs != hold*1000 {
		t.Fatalf("negotiated hold time %d ms, want %d s: the hold timer must not be what withdraws the route", n.HoldTimeMsecs, hold)
	}
	m := sp.Metrics()
	if !strings.Contains(m, `metallb_bfd_session_up{peer="198.18.0.1"} 1`) {
		t.Errorf("metrics lack the BFD session up:\n%s", m)
	}
	downs := metricValue(t, m, `metallb_bfd_session_down_events{peer="198.18.0.1"}`)

	cut := cutLink(t, tp.nodes[0])
	start := time.Now()
	wantNexthops(t, tp.router, lbIP, 5*time.Second)
	gone := time.Since(start)
	t.Logf("link cut without TCP reset: route gone from FRR's FIB after %v (BFD 300ms x 3, hold time %ds)", gone.Round(time.Millisecond), hold)
	st := waitBFD(t, sp, "tor", BFDDown, 5*time.Second)
	if st.BFDDiag != "control detection time expired" {
		t.Errorf("speaker's BFD diagnostic %q, want control detection time expired", st.BFDDiag)
	}
	check.Eventually(t, 5*time.Second, "speaker holds its BGP session down for BFD", func() error {
		st := sp.State("tor")
		if st.State == StateEstablished || !strings.Contains(st.LastError, "BFD session down (control detection time expired)") {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})
	// Held down, not retrying: the session stays down past several
	// connect retries (connectTime 1s) while BFD is down.
	time.Sleep(3 * time.Second)
	if st := sp.State("tor"); st.State == StateEstablished || st.BFD != BFDDown {
		t.Errorf("session came back while BFD was down: %+v", st)
	}

	cut.heal(t)
	waitBFD(t, sp, "tor", BFDUp, 15*time.Second)
	bfdUp := time.Now()
	waitEstablished(t, sp, "tor")
	t.Logf("BGP session established %v after BFD came up (GoBGP's connect jitter is 1-2 s)", time.Since(bfdUp).Round(10*time.Millisecond))
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0))
	waitFRRBFD(t, bfdd, nodeV4(0).String(), "up", 5*time.Second)
	if st := sp.State("tor"); st.LastError != "" {
		t.Errorf("LastError %q after the session re-established", st.LastError)
	}
	m = sp.Metrics()
	if !strings.Contains(m, `metallb_bfd_session_up{peer="198.18.0.1"} 1`) {
		t.Errorf("metrics lack the BFD session up:\n%s", m)
	}
	if d := metricValue(t, m, `metallb_bfd_session_down_events{peer="198.18.0.1"}`); d != downs+1 {
		t.Errorf("BFD down events %v after one cut, were %v", d, downs)
	}
	ns, err = tp.router.Neighbors()
	check.Must(t, err)
	established := ns[nodeV4(0).String()].ConnectionsEstablished
	if established <= n.ConnectionsEstablished {
		t.Errorf("FRR counts %d established connections, %d before the cut: want a re-established session", established, n.ConnectionsEstablished)
	}

	// A timer change alone is applied in place: FRR sees the new interval
	// and the BGP session is not reset.
	peer.BFD.TransmitInterval = 600 * time.Millisecond
	if errs := sp.SetPeers(peer); len(errs) > 0 {
		t.Fatal(errs)
	}
	check.Eventually(t, 10*time.Second, "FRR sees the 600 ms interval", func() error {
		p, err := bfdd.PeerByAddr(nodeV4(0).String())
		if err != nil {
			return err
		}
		if p.RemoteTransmitInterval != 600 || p.Status != "up" {
			return fmt.Errorf("%+v", p)
		}
		return nil
	})
	ns, err = tp.router.Neighbors()
	check.Must(t, err)
	if n := ns[nodeV4(0).String()]; n.ConnectionsEstablished != established || !n.Established() {
		t.Errorf("BGP session reset by a BFD timer change: %+v (was %d connections)", n, established)
	}

	// The router taking BFD administratively down (AdminDown) is no path
	// failure (RFC 5882 §3.2): BFD is down, the BGP session stays up.
	check.Must(t, tp.router.Configure("bfd", "profile fast", "shutdown"))
	waitBFD(t, sp, "tor", BFDDown, 5*time.Second)
	waitFRRBFD(t, bfdd, nodeV4(0).String(), "shutdown", 5*time.Second)
	check.Eventually(t, 5*time.Second, "speaker's BFD counts the AdminDown as a down event", func() error {
		if d := metricValue(t, sp.Metrics(), `metallb_bfd_session_down_events{peer="198.18.0.1"}`); d != downs+2 {
			return fmt.Errorf("%v down events", d)
		}
		return nil
	})
	if st := sp.State("tor"); st.State != StateEstablished || st.LastError != "" {
		t.Errorf("BGP session after the peer's BFD AdminDown: %+v", st)
	}
	check.Must(t, tp.router.Configure("bfd", "profile fast", "no shutdown"))
	waitBFD(t, sp, "tor", BFDUp, 10*time.Second)
	ns, err = tp.router.Neighbors()
	check.Must(t, err)
	if n := ns[nodeV4(0).String()]; n.ConnectionsEstablished != established || !n.Established() {
		t.Errorf("BGP session reset by the peer's BFD AdminDown: %+v (was %d connections)", n, established)
	}
}

// TestFRRGracefulRestartWithBFD: a speaker with graceful restart and BFD
// restarts. It ends its BFD session with AdminDown, which FRR must not
// take for a path failure (RFC 5882), so the router keeps the route, a
// stale path, in its FIB through the restart; the new speaker brings BFD
// and the session back and the path is fresh again. Were the AdminDown
// taken for a failure, BFD would cancel graceful restart on every restart.
func TestFRRGracefulRestartWithBFD(t *testing.T) {
	const hold = 30
	tp := newTopo(t, 1, routerConf(1, fmt.Sprintf("neighbor NODES timers %d %d", hold/3, hold),
		"neighbor NODES update-source "+routerV4.String(), "neighbor NODES bfd", "neighbor NODES bfd profile fast",
		"bgp graceful-restart"))
	bfdd := startBFDD(t, tp.router)
	peer := nodePeer(0)
	peer.HoldTime, peer.KeepaliveTime, peer.BFD, peer.GracefulRestart = hold*time.Second, hold/3*time.Second, fastBFD, true
	run := func() *speaker {
		return announcing(t, tp.nodes[0], Options{RouterID: nodeV4(0), GracefulRestartTime: 30 * time.Second}, peer)
	}
	sp := run()
	waitSteady(t, sp, tp.router, "tor", BFDUp, nodeV4(0))
	waitFRRBFD(t, bfdd, nodeV4(0).String(), "up", 15*time.Second)

	sp.Shutdown()
	sp.Exit()
	stale := func() error {
		if err := onePath(tp.router, true)(); err != nil {
			return err
		}
		if nh := fibNexthops(t, tp.router, lbIP); len(nh) != 1 {
			return errorf("FIB next hops %v", nh)
		}
		return nil
	}
	check.Eventually(t, 10*time.Second, "router keeps the path, stale, in its FIB", stale)
	// Three BFD detection times (0.9 s each) after the speaker went: a
	// BFD failure would have taken the route out by now.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := stale(); err != nil {
			t.Fatalf("during the restart, with BFD: %v", err)
		}
	}

	sp = run()
	waitSteady(t, sp, tp.router, "tor", BFDUp, nodeV4(0))
	check.Eventually(t, 10*time.Second, "path fresh after the restart", onePath(tp.router, false))
}
