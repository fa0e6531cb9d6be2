package bgp

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
)

// TestFRRAttributes: communities, large communities and LOCAL_PREF reach
// the router as configured, merged across advertisements of one prefix;
// LOCAL_PREF is refused towards an eBGP peer; aggregation announces the
// asked-for prefix; changing attributes and withdrawing do not reset the
// sessions.
func TestFRRAttributes(t *testing.T) {
	tp := newTopo(t, 1, routerConf(1, "neighbor "+nodeV4b(0).String()+" peer-group IBGP"))
	sp := startSpeaker(t, tp.nodes[0], Options{RouterID: nodeV4(0)})
	ebgp := nodePeer(0)
	ibgp := nodePeer(0)
	ibgp.Name, ibgp.MyASN, ibgp.Address, ibgp.SourceAddress = "tor-ibgp", routerASN, routerV4b, nodeV4b(0)
	if errs := sp.SetPeers(ebgp, ibgp); len(errs) > 0 {
		t.Fatal(errs)
	}
	waitEstablished(t, sp, "tor")
	waitEstablished(t, sp, "tor-ibgp")

	svc := netip.MustParsePrefix("198.19.0.30/32")
	agg, err := bgpmodel.Aggregate(netip.MustParseAddr("198.19.1.77"), 24, 128)
	check.Must(t, err)
	r := sp.SetAds(
		bgpmodel.Advertisement{Name: "communities", Prefix: svc, Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(64512, 100), bgpmodel.LargeCommunity(64512, 1, 2)}},
		bgpmodel.Advertisement{Name: "more-communities", Prefix: svc, Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(64512, 100), bgpmodel.StandardCommunity(64512, 7)}},
		bgpmodel.Advertisement{Name: "pref-ibgp", Prefix: svc, LocalPref: 300, Peers: []string{"tor-ibgp"}},
		bgpmodel.Advertisement{Name: "pref-all", Prefix: svc, LocalPref: 150},
		bgpmodel.Advertisement{Name: "aggregate", Prefix: agg, Peers: []string{"tor"}},
	)
	if len(r.Errs) != 0 {
		t.Errorf("unexpected errors %v", r.Errs)
	}

	var byPeer map[string]pathView
	check.Eventually(t, 10*time.Second, "both sessions' paths for "+svc.String(), func() error {
		byPeer = pathsByPeer(t, tp, svc)
		if len(byPeer) != 2 {
			return errorf("paths from %v", slices.Collect(mapsKeys(byPeer)))
		}
		return nil
	})
	e, i := byPeer[nodeV4(0).String()], byPeer[nodeV4b(0).String()]
	wantComms := []string{"64512:100", "64512:7"} // sorted as strings
	if !slices.Equal(e.comms, wantComms) || !slices.Equal(i.comms, wantComms) {
		t.Errorf("communities eBGP %v iBGP %v, want %v on both", e.comms, i.comms, wantComms)
	}
	if !slices.Equal(e.large, []string{"64512:1:2"}) || !slices.Equal(i.large, []string{"64512:1:2"}) {
		t.Errorf("large communities eBGP %v iBGP %v", e.large, i.large)
	}
	if i.localPref != 300 {
		t.Errorf("iBGP LOCAL_PREF %d, want 300 (the highest of 300 and 150)", i.localPref)
	}
	if e.localPref != 0 && e.localPref != 100 { // none sent: FRR shows nothing or its default
		t.Errorf("eBGP path LOCAL_PREF %d, want none", e.localPref)
	}
	wantNexthops(t, tp.router, agg, 10*time.Second, nodeV4(0))
	if agg.String() != "198.19.1.0/24" {
		t.Fatalf("aggregate %s", agg)
	}
	if got := fibNexthops(t, tp.router, netip.MustParsePrefix("198.19.1.77/32")); got != nil {
		t.Errorf("the /32 was announced next to its aggregate: %v", got)
	}

	// Change attributes in place: no session reset, new values arrive.
	before, err := tp.router.Neighbors()
	check.Must(t, err)
	sp.SetAds(bgpmodel.Advertisement{Name: "communities", Prefix: svc, Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(1, 1)}})
	check.Eventually(t, 10*time.Second, "updated communities", func() error {
		for peer, p := range pathsByPeer(t, tp, svc) {
			if !slices.Equal(p.comms, []string{"1:1"}) || len(p.large) != 0 {
				return errorf("%s has %v %v", peer, p.comms, p.large)
			}
		}
		return nil
	})
	wantNexthops(t, tp.router, agg, 10*time.Second)
	after, err := tp.router.Neighbors()
	check.Must(t, err)
	for k, n := range after {
		if n.ConnectionsEstablished != before[k].ConnectionsEstablished {
			t.Errorf("session %s was reset by an advertisement change", k)
		}
	}

	// Dynamic ASN: "external" establishes with the router's AS; "internal"
	// against an eBGP router is refused with a reason.
	dyn := ebgp
	dyn.PeerASN, dyn.DynamicASN = 0, bgpmodel.DynamicASNExternal
	if errs := sp.SetPeers(dyn, ibgp); len(errs) > 0 {
		t.Fatal(errs)
	}
	waitEstablished(t, sp, "tor")
	if st := sp.State("tor"); st.PeerASN != routerASN {
		t.Errorf("dynamic ASN session reports peer AS %d", st.PeerASN)
	}
	dyn.DynamicASN = bgpmodel.DynamicASNInternal
	if errs := sp.SetPeers(dyn, ibgp); len(errs) > 0 {
		t.Fatal(errs)
	}
	check.Eventually(t, 20*time.Second, "dynamicASN internal refused against an eBGP router", func() error {
		st := sp.State("tor")
		if !strings.Contains(st.LastError, "dynamicASN internal") || st.State == StateEstablished {
			return errorf("%+v", st)
		}
		return nil
	})

	// Unsupported and invalid peers come back per peer; the others run.
	vrf := ebgp
	vrf.VRF = "red"
	errs := sp.SetPeers(vrf, ibgp)
	if !strings.Contains(errs["tor"], "VRF") || len(errs) != 1 {
		t.Errorf("VRF peer errors %v", errs)
	}
	if names := stateNames(sp.States()); !slices.Equal(names, []string{"tor-ibgp"}) {
		t.Errorf("sessions %v, want only tor-ibgp", names)
	}
	if !strings.Contains(errs["tor"], ErrUnsupported.Error()) {
		t.Errorf("VRF error %q does not mention %q", errs["tor"], ErrUnsupported)
	}
}

type pathView struct {
	comms, large []string
	localPref    uint32
}

func pathsByPeer(t testing.TB, tp *topo, prefix netip.Prefix) map[string]pathView {
	t.Helper()
	paths, err := tp.router.BGPPaths(prefix)
	check.Must(t, err)
	out := map[string]pathView{}
	for _, p := range paths {
		v := pathView{comms: p.Communities(), large: p.LargeCommunities()}
		slices.Sort(v.comms)
		if p.LocalPref != nil {
			v.localPref = *p.LocalPref
		}
		out[p.Peer.PeerID] = v
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func stateNames(ss []PeerState) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}
