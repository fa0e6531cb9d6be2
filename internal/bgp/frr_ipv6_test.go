package bgp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// TestFRRIPv6: an IPv6 prefix over an IPv6 session, the same prefix over
// an IPv4 session carrying IPv6 too (MP-BGP, with the node's IPv6 address
// as next hop), and an IPv4 prefix over the IPv6 session; the router
// installs both families with ECMP across the two nodes.
func TestFRRIPv6(t *testing.T) {
	tp := newTopo(t, 2, routerConf(2))
	lb6 := netip.MustParsePrefix("2001:db8:ff::10/128")
	lb4 := netip.MustParsePrefix("198.19.0.40/32")

	// Node 0: one IPv6 session, dual-stack, IPv4 next hop given.
	sp0 := startSpeaker(t, tp.nodes[0], Options{RouterID: nodeV4(0)})
	v6 := bgpmodel.Peer{
		Name: "tor6", MyASN: nodeASN, PeerASN: routerASN, Address: routerV6, SourceAddress: nodeV6(0),
		HoldTime: 3 * time.Second, ConnectTime: time.Second,
		DualStack: true, IPv4NextHop: nodeV4(0),
	}
	// Node 1: one IPv4 session carrying both families.
	sp1 := startSpeaker(t, tp.nodes[1], Options{RouterID: nodeV4(1)})
	v4 := nodePeer(1)
	v4.DualStack, v4.IPv6NextHop = true, nodeV6(1)

	if errs := sp0.SetPeers(v6); len(errs) > 0 {
		t.Fatal(errs)
	}
	if errs := sp1.SetPeers(v4); len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, sp := range []*speaker{sp0, sp1} {
		if r := sp.SetAds(bgpmodel.Advertisement{Name: "v6", Prefix: lb6}, bgpmodel.Advertisement{Name: "v4", Prefix: lb4}); len(r.Errs) > 0 {
			t.Fatal(r.Errs)
		}
	}
	waitEstablished(t, sp0, "tor6")
	waitEstablished(t, sp1, "tor")
	wantNexthops(t, tp.router, lb6, 10*time.Second, nodeV6(0), nodeV6(1))
	wantNexthops(t, tp.router, lb4, 10*time.Second, nodeV4(0), nodeV4(1))
	if st := sp0.State("tor6"); st.Advertised != 2 {
		t.Errorf("IPv6 session advertises %d prefixes, want 2", st.Advertised)
	}

	// Without DualStack each session carries only its own family.
	v6.DualStack = false
	if errs := sp0.SetPeers(v6); len(errs) > 0 {
		t.Fatal(errs)
	}
	wantNexthops(t, tp.router, lb4, 20*time.Second, nodeV4(1))
	wantNexthops(t, tp.router, lb6, 20*time.Second, nodeV6(0), nodeV6(1))
}
