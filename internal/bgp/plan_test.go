package bgp

import (
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/barelb/barelb/internal/bgpmodel"
)

func sessionsFor(t *testing.T, peers ...bgpmodel.Peer) map[string]sessionConfig {
	t.Helper()
	ok, errs := resolvePeers(peers, testOpts)
	if errs != nil {
		t.Fatal(errs)
	}
	return ok
}

func TestPlanRoutes(t *testing.T) {
	ebgp := validPeer()
	ibgp := validPeer()
	ibgp.Name, ibgp.PeerASN, ibgp.Address = "ibgp", 64512, netip.MustParseAddr("198.18.0.2")
	v6 := validPeer()
	v6.Name, v6.Address = "v6", netip.MustParseAddr("2001:db8::1")
	dual := validPeer()
	dual.Name, dual.Address, dual.DualStack, dual.IPv6NextHop = "dual", netip.MustParseAddr("198.18.0.3"), true, netip.MustParseAddr("2001:db8::11")
	sessions := sessionsFor(t, ebgp, ibgp, v6, dual)

	p4 := netip.MustParsePrefix("198.19.0.1/32")
	p6 := netip.MustParsePrefix("2001:db8:ff::1/128")
	agg := netip.MustParsePrefix("198.19.0.0/24")
	c1, c2, l1 := bgpmodel.StandardCommunity(64512, 1), bgpmodel.StandardCommunity(64512, 2), bgpmodel.LargeCommunity(64512, 1, 2)

	plan, errs := planRoutes(sessions, []bgpmodel.Advertisement{
		{Name: "plain", Prefix: p4},
		{Name: "comm", Prefix: p4, Communities: []bgpmodel.Community{c2, l1}},
		{Name: "comm-dup", Prefix: p4, Communities: []bgpmodel.Community{c1, c2}, Peers: []string{"tor", "ghost"}},
		{Name: "pref", Prefix: p4, LocalPref: 200, Peers: []string{"ibgp"}},
		{Name: "pref-low", Prefix: p4, LocalPref: 50},
		{Name: "v6", Prefix: p6},
		{Name: "agg", Prefix: agg, Peers: []string{"dual"}},
		{Name: "unmasked", Prefix: netip.MustParsePrefix("198.19.0.1/24")},
	})

	want := map[string]routeTable{
		// pref-low reaches the eBGP peers without its LOCAL_PREF.
		"tor":  {p4: {communities: []bgpmodel.Community{c1, c2, l1}}},
		"ibgp": {p4: {communities: []bgpmodel.Community{c2, l1}, localPref: 200}},
		"v6":   {p6: {}},
		"dual": {p4: {communities: []bgpmodel.Community{c2, l1}}, p6: {}, agg: {}},
	}
	for name, w := range want {
		got := plan[name]
		if len(got) != len(w) {
			t.Errorf("%s: %d routes %v, want %v", name, len(got), got, w)
			continue
		}
		for p, r := range w {
			if !got[p].equal(r) {
				t.Errorf("%s %s: got %+v, want %+v", name, p, got[p], r)
			}
		}
	}
	if !errors.Is(errs["unmasked"], ErrInvalidAdvert) {
		t.Errorf("unmasked error = %v", errs["unmasked"])
	}
	if len(errs) != 1 {
		t.Errorf("errors %v, want unmasked only", errs)
	}
}

func TestPlanRoutesIsOrderIndependent(t *testing.T) {
	ibgp := validPeer()
	ibgp.PeerASN = 64512
	sessions := sessionsFor(t, ibgp)
	p := netip.MustParsePrefix("198.19.0.1/32")
	ads := []bgpmodel.Advertisement{
		{Name: "a", Prefix: p, LocalPref: 100, Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(1, 1)}},
		{Name: "b", Prefix: p, LocalPref: 300, Communities: []bgpmodel.Community{bgpmodel.LargeCommunity(1, 1, 1), bgpmodel.StandardCommunity(0, 5)}},
		{Name: "c", Prefix: p, Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(1, 1)}},
	}
	first, _ := planRoutes(sessions, ads)
	slices.Reverse(ads)
	second, _ := planRoutes(sessions, ads)
	if !first["tor"][p].equal(second["tor"][p]) || first["tor"][p].localPref != 300 || len(first["tor"][p].communities) != 3 {
		t.Errorf("order matters or merge wrong: %+v vs %+v", first["tor"][p], second["tor"][p])
	}
}

func TestDiffRoutes(t *testing.T) {
	a, b, c, d := netip.MustParsePrefix("198.19.0.1/32"), netip.MustParsePrefix("198.19.0.2/32"), netip.MustParsePrefix("198.19.0.3/32"), netip.MustParsePrefix("2001:db8::/64")
	old := routeTable{a: {}, b: {localPref: 100}, c: {}}
	want := routeTable{a: {}, b: {localPref: 200}, d: {communities: []bgpmodel.Community{bgpmodel.StandardCommunity(1, 2)}}}
	ann, wd := diffRoutes(old, want)
	if !slices.Equal(ann, []netip.Prefix{b, d}) || !slices.Equal(wd, []netip.Prefix{c}) {
		t.Errorf("announce %v withdraw %v", ann, wd)
	}
	if ann, wd := diffRoutes(want, want); ann != nil || wd != nil {
		t.Errorf("no-op diff = %v %v", ann, wd)
	}
}

func TestDiffPeers(t *testing.T) {
	a, b, c := validPeer(), validPeer(), validPeer()
	a.Name, b.Name, c.Name = "a", "b", "c"
	b.Address, c.Address = netip.MustParseAddr("198.18.0.2"), netip.MustParseAddr("198.18.0.3")
	running := map[string]bgpmodel.Peer{"a": a, "b": b, "gone": validPeer()}
	b2 := b
	b2.Password = "changed"
	want := sessionsFor(t, a, b2, c)
	add, change, remove := diffPeers(running, want)
	if !slices.Equal(add, []string{"c"}) || !slices.Equal(change, []string{"b"}) || !slices.Equal(remove, []string{"gone"}) {
		t.Errorf("add %v change %v remove %v", add, change, remove)
	}
}

// TestLocalPrefSharedByIBGPAndEBGP: an advertisement with localPref that
// names no peer reaches the eBGP peer too, without LOCAL_PREF, and is no
// error (MetalLB's behaviour).
func TestLocalPrefSharedByIBGPAndEBGP(t *testing.T) {
	ebgp := validPeer()
	ibgp := validPeer()
	ibgp.Name, ibgp.PeerASN, ibgp.Address = "ibgp", 64512, netip.MustParseAddr("198.18.0.2")
	p := netip.MustParsePrefix("198.19.0.7/32")
	c := bgpmodel.StandardCommunity(64512, 9)
	plan, errs := planRoutes(sessionsFor(t, ebgp, ibgp), []bgpmodel.Advertisement{{Name: "pref", Prefix: p, LocalPref: 250, Communities: []bgpmodel.Community{c}}})
	if errs != nil {
		t.Fatalf("errors %v", errs)
	}
	if r, ok := plan["ibgp"][p]; !ok || r.localPref != 250 || !slices.Equal(r.communities, []bgpmodel.Community{c}) {
		t.Errorf("iBGP route %+v (present %v), want LOCAL_PREF 250 and the community", r, ok)
	}
	if r, ok := plan[ebgp.Name][p]; !ok || r.localPref != 0 || !slices.Equal(r.communities, []bgpmodel.Community{c}) {
		t.Errorf("eBGP route %+v (present %v), want the route with the community and no LOCAL_PREF", r, ok)
	}
}
