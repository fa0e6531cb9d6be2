package bgp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// unnumberedConf is FRR's side of an unnumbered fabric link: the
// neighbour named by interface, both families over the one IPv6
// link-local session (FRR turns on Router Advertisements on eth0 and the
// extended next hop capability for it).
const unnumberedConf = `frr defaults datacenter
hostname rtr
log timestamp precision 3
router bgp 64500
 bgp router-id 198.18.0.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor eth0 interface remote-as external
 neighbor eth0 timers 1 3
 address-family ipv4 unicast
  neighbor eth0 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor eth0 activate
 exit-address-family
`

// TestFRRUnnumbered: a node and FRR share a veth link with no address
// but the kernel's IPv6 link-local ones. The speaker's peer names only
// the interface; it finds the router's link-local address, the session
// comes up, and the router installs an IPv6 and an IPv4 LoadBalancer
// prefix with the node's link-local address as next hop (RFC 8950 for
// the IPv4 one), answering pings to both from the router.
func TestFRRUnnumbered(t *testing.T) {
	lab := netlab.NewForTest(t, "unn")
	rtr, err := lab.AddNamespace("rtr")
	check.Must(t, err)
	node, err := lab.AddNamespace("n0")
	check.Must(t, err)
	check.Must(t, lab.Veth(rtr, "eth0", node, "eth0"))
	lb4 := netip.MustParsePrefix("198.19.0.50/32")
	lb6 := netip.MustParsePrefix("2001:db8:ff::50/128")
	for _, p := range []netip.Prefix{lb4, lb6} {
		check.Must(t, node.AddAddr("lo", p.String()))
	}
	nodeLL, rtrLL := linkLocalOf(t, node, "eth0"), linkLocalOf(t, rtr, "eth0")
	// The router's IPv4 identity is a loopback address, as on a real
	// unnumbered fabric; the node reaches it through the router's
	// link-local address (the route FRR would announce, which the speaker
	// does not install).
	check.Must(t, rtr.AddAddr("lo", routerV4.String()+"/32"))
	check.Must(t, node.Exec("ip", "route", "add", routerV4.String()+"/32", "via", "inet6", rtrLL.WithZone("").String(), "dev", "eth0"))
	router := frrlab.StartForTest(t, rtr, frrlab.Config{BGPD: unnumberedConf})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := router.Vtysh("show bgp neighbors eth0", "show bgp ipv4 unicast", "show bgp ipv6 unicast", "show ip route", "show ipv6 route")
			t.Logf("router:\n%s", out)
		}
	})

	sp := startSpeaker(t, node, Options{RouterID: netip.MustParseAddr("198.18.0.11")})
	peer := bgpmodel.Peer{Name: "fabric", MyASN: nodeASN, PeerASN: routerASN, Interface: "eth0",
		HoldTime: 3 * time.Second, KeepaliveTime: time.Second, ConnectTime: time.Second}
	if r := sp.SetAds(bgpmodel.Advertisement{Name: "v4", Prefix: lb4}, bgpmodel.Advertisement{Name: "v6", Prefix: lb6}); len(r.Errs) > 0 || r.Other != "" {
		t.Fatal(r.Errs, r.Other)
	}
	// The first SetPeers may come before FRR's first Router
	// Advertisement; speaker/app calls again while the error says so.
	began := time.Now()
	check.Eventually(t, 20*time.Second, "unnumbered peer accepted", func() error {
		if errs := sp.SetPeers(peer); len(errs) > 0 {
			if !strings.Contains(errs["fabric"], ErrNoNeighbor.Error()) {
				t.Fatalf("refused for another reason than a missing neighbour: %v", errs)
			}
			return fmt.Errorf("%v", errs)
		}
		return nil
	})
	waitEstablished(t, sp, "fabric")
	if st := sp.State("fabric"); st.Address.Addr().Zone() != "eth0" || !st.Address.Addr().IsLinkLocalUnicast() {
		t.Errorf("session address %s, want the router's link-local address on eth0", st.Address)
	}
	check.Eventually(t, 20*time.Second, "both prefixes in the router's kernel", func() error {
		for _, p := range []netip.Prefix{lb6, lb4} {
			e, err := router.RIBRoute(p, "bgp")
			if err != nil {
				return err
			}
			if e == nil || len(e.FIBNexthops()) == 0 {
				return fmt.Errorf("%s: no installed BGP route: %+v", p, e)
			}
		}
		return nil
	})
	t.Logf("unnumbered: session and both routes installed %v after the first SetPeers", time.Since(began).Round(time.Millisecond))
	// IPv6 by the node's link-local next hop; IPv4 through the same
	// IPv6 next hop in the kernel (RFC 8950 / "via inet6").
	for _, p := range []netip.Prefix{lb6, lb4} {
		out, err := rtr.Output("ip", "route", "show", p.String())
		if p.Addr().Is6() {
			out, err = rtr.Output("ip", "-6", "route", "show", p.String())
		}
		check.Must(t, err)
		if !strings.Contains(out, nodeLL.WithZone("").String()) || !strings.Contains(out, "dev eth0") {
			t.Errorf("router's kernel route for %s is %q, want it via %s dev eth0", p, out, nodeLL)
		}
		ping := []string{"ping", "-c", "1", "-W", "2", p.Addr().String()}
		if p.Addr().Is4() {
			ping = append(ping, "-I", routerV4.String())
		}
		if err := rtr.Exec(ping...); err != nil {
			t.Errorf("ping %s from the router: %v", p.Addr(), err)
		}
	}
	paths, err := router.BGPPaths(lb4)
	check.Must(t, err)
	if len(paths) != 1 || len(paths[0].Nexthops) == 0 || !strings.HasPrefix(paths[0].Nexthops[0].IP, "fe80:") && !strings.Contains(fmt.Sprint(paths[0].Nexthops), "fe80:") {
		t.Errorf("IPv4 path's next hops %+v, want the node's IPv6 link-local address (RFC 8950)", paths)
	}

	// Removing the peer closes the session and the router drops both.
	if errs := sp.SetPeers(); len(errs) > 0 {
		t.Fatal(errs)
	}
	check.Eventually(t, 10*time.Second, "routes withdrawn", func() error {
		for _, p := range []netip.Prefix{lb6, lb4} {
			if e, err := router.RIBRoute(p, "bgp"); err != nil || e != nil {
				return fmt.Errorf("%s still routed: %+v %v", p, e, err)
			}
		}
		return nil
	})
}

// linkLocalOf returns the IPv6 link-local address of dev in ns (zoned).
func linkLocalOf(t *testing.T, ns *netlab.Namespace, dev string) netip.Addr {
	t.Helper()
	var a netip.Addr
	check.Eventually(t, 5*time.Second, "link-local address on "+dev, func() error {
		out, err := ns.Output("ip", "-6", "-o", "addr", "show", "dev", dev, "scope", "link")
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(out) {
			if p, err := netip.ParsePrefix(f); err == nil && p.Addr().IsLinkLocalUnicast() {
				a = p.Addr().WithZone(dev)
				return nil
			}
		}
		return fmt.Errorf("none yet: %q", out)
	})
	return a
}
