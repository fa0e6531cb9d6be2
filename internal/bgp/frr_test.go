package bgp

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
)

var lbIP = netip.MustParsePrefix("198.19.0.10/32")

// TestFRRThreeSpeakersECMP: three nodes peer with one FRR router; one
// LoadBalancer IP announced by all three is installed with three equal
// next hops; unchanged peers are not reset by SetPeers, changed ones are;
// withdrawing removes the path from that node only, then entirely.
func TestFRRThreeSpeakersECMP(t *testing.T) {
	tp := newTopo(t, 3, routerConf(3))
	var sps []*speaker
	for i, ns := range tp.nodes {
		sp := startSpeaker(t, ns, Options{RouterID: nodeV4(i)})
		if errs := sp.SetPeers(nodePeer(i)); len(errs) > 0 {
			t.Fatal(errs)
		}
		sps = append(sps, sp)
	}
	for _, sp := range sps {
		waitEstablished(t, sp, "tor")
	}
	ns, err := tp.router.Neighbors()
	check.Must(t, err)
	for i := range 3 {
		if n := ns[nodeV4(i).String()]; !n.Established() || n.RemoteAS != nodeASN {
			t.Errorf("router's view of node %d: %+v", i, n)
		}
	}

	for _, sp := range sps {
		if r := sp.SetAds(bgpmodel.Advertisement{Name: "svc", Prefix: lbIP}); r.Other != "" {
			t.Fatal(r.Other)
		}
	}
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0), nodeV4(1), nodeV4(2))
	paths, err := tp.router.BGPPaths(lbIP)
	check.Must(t, err)
	multipath := 0
	for _, p := range paths {
		if p.Multipath {
			multipath++
		}
		if p.ASPath.String != "64512" {
			t.Errorf("AS path %q, want 64512", p.ASPath.String)
		}
	}
	if len(paths) != 3 || multipath != 3 {
		t.Errorf("router has %d paths, %d multipath; want 3 and 3", len(paths), multipath)
	}
	// The kernel FIB in the router namespace, as zebra installed it.
	out, err := tp.rtr.Output("ip", "route", "show", lbIP.String())
	check.Must(t, err)
	for i := range 3 {
		if !strings.Contains(out, "via "+nodeV4(i).String()) {
			t.Errorf("kernel route lacks next hop %s:\n%s", nodeV4(i), out)
		}
	}

	m := sps[0].Metrics()
	for _, want := range []string{
		`metallb_bgp_session_up{peer="198.18.0.1:179"} 1`,
		`metallb_bgp_announced_prefixes_total{peer="198.18.0.1:179"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, m)
		}
	}
	if !strings.Contains(m, `metallb_bgp_updates_total{peer="198.18.0.1:179"}`) || strings.Contains(m, `metallb_bgp_updates_total{peer="198.18.0.1:179"} 0`) {
		t.Errorf("updates_total missing or zero:\n%s", m)
	}

	// Same peers again: no session is touched. A changed hold time on
	// node 1 only restarts node 1's session.
	before, err := tp.router.Neighbors()
	check.Must(t, err)
	if errs := sps[0].SetPeers(nodePeer(0)); len(errs) > 0 {
		t.Fatal(errs)
	}
	changed := nodePeer(1)
	changed.HoldTime = 6 * time.Second
	changed.KeepaliveTime = 2 * time.Second
	if errs := sps[1].SetPeers(changed); len(errs) > 0 {
		t.Fatal(errs)
	}
	check.Eventually(t, 20*time.Second, "node 1 re-established after its change", func() error {
		ns, err := tp.router.Neighbors()
		if err != nil {
			return err
		}
		n := ns[nodeV4(1).String()]
		if n.ConnectionsEstablished != before[nodeV4(1).String()].ConnectionsEstablished+1 || !n.Established() {
			return errorf("neighbor %+v", n)
		}
		return nil
	})
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0), nodeV4(1), nodeV4(2))
	after, err := tp.router.Neighbors()
	check.Must(t, err)
	for _, i := range []int{0, 2} {
		k := nodeV4(i).String()
		if after[k].ConnectionsEstablished != before[k].ConnectionsEstablished || after[k].ConnectionsDropped != before[k].ConnectionsDropped {
			t.Errorf("node %d's session was reset: before %+v after %+v", i, before[k], after[k])
		}
	}

	// Withdraw from node 2, then from everyone.
	sps[2].SetAds()
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0), nodeV4(1))
	sps[0].SetAds()
	sps[1].SetAds()
	wantNexthops(t, tp.router, lbIP, 10*time.Second)
	if st := sps[0].State("tor"); st.State != StateEstablished || st.Advertised != 0 {
		t.Errorf("after withdrawing: %+v", st)
	}
}
