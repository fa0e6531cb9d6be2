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
	u := newUnnumbered(t, unnumberedConf)
	rtr, router, sp, nodeLL, lb4, lb6 := u.rtr, u.router, u.sp, u.nodeLL, u.lb4, u.lb6
	began := time.Now()
	u.setPeer(t, u.peer)
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

// unnumbered is a node and an FRR router joined by one veth with only
// link-local addresses, and a speaker in the node announcing lb4 and lb6
// (both on the node's loopback, so pings answer).
type unnumbered struct {
	rtr, node *netlab.Namespace
	router    *frrlab.Router
	sp        *speaker
	peer      bgpmodel.Peer
	nodeLL    netip.Addr
	lb4, lb6  netip.Prefix
}

func newUnnumbered(t *testing.T, bgpd string) *unnumbered {
	t.Helper()
	lab := netlab.NewForTest(t, "unn")
	u := &unnumbered{lb4: netip.MustParsePrefix("198.19.0.50/32"), lb6: netip.MustParsePrefix("2001:db8:ff::50/128")}
	var err error
	u.rtr, err = lab.AddNamespace("rtr")
	check.Must(t, err)
	u.node, err = lab.AddNamespace("n0")
	check.Must(t, err)
	check.Must(t, lab.Veth(u.rtr, "eth0", u.node, "eth0"))
	for _, p := range []netip.Prefix{u.lb4, u.lb6} {
		check.Must(t, u.node.AddAddr("lo", p.String()))
	}
	var rtrLL netip.Addr
	u.nodeLL, rtrLL = linkLocalOf(t, u.node, "eth0"), linkLocalOf(t, u.rtr, "eth0")
	// The router's IPv4 identity is a loopback address, as on a real
	// unnumbered fabric; the node reaches it through the router's
	// link-local address (the route FRR would announce, which the speaker
	// does not install).
	check.Must(t, u.rtr.AddAddr("lo", routerV4.String()+"/32"))
	check.Must(t, u.node.Exec("ip", "route", "add", routerV4.String()+"/32", "via", "inet6", rtrLL.WithZone("").String(), "dev", "eth0"))
	u.router = frrlab.StartForTest(t, u.rtr, frrlab.Config{BGPD: bgpd})
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := u.router.Vtysh("show bgp neighbors eth0", "show bgp ipv4 unicast", "show bgp ipv6 unicast", "show ip route", "show ipv6 route")
			t.Logf("router:\n%s", out)
		}
	})
	u.sp = startSpeaker(t, u.node, Options{RouterID: netip.MustParseAddr("198.18.0.11")})
	u.peer = bgpmodel.Peer{Name: "fabric", MyASN: nodeASN, PeerASN: routerASN, Interface: "eth0",
		HoldTime: 3 * time.Second, KeepaliveTime: time.Second, ConnectTime: time.Second}
	if r := u.sp.SetAds(bgpmodel.Advertisement{Name: "v4", Prefix: u.lb4}, bgpmodel.Advertisement{Name: "v6", Prefix: u.lb6}); len(r.Errs) > 0 || r.Other != "" {
		t.Fatal(r.Errs, r.Other)
	}
	return u
}

// setPeer sets p as the speaker's only peer, again while it is refused
// for want of a neighbour: the first call may come before FRR's first
// Router Advertisement, and speaker/app calls again while the error
// says so.
func (u *unnumbered) setPeer(t *testing.T, p bgpmodel.Peer) {
	t.Helper()
	check.Eventually(t, 20*time.Second, "unnumbered peer accepted", func() error {
		if errs := u.sp.SetPeers(p); len(errs) > 0 {
			if !strings.Contains(errs[p.Name], ErrNoNeighbor.Error()) {
				t.Fatalf("refused for another reason than a missing neighbour: %v", errs)
			}
			return fmt.Errorf("%v", errs)
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

// TestFRRUnnumberedBFD: BFD beside an unnumbered session runs between
// the two link-local addresses (FRR's "neighbor eth0 bfd"); a link cut
// without any reset takes the router's routes away well inside the 9 s
// hold time.
func TestFRRUnnumberedBFD(t *testing.T) {
	conf := strings.Replace(unnumberedConf, " neighbor eth0 timers 1 3\n",
		" neighbor eth0 timers 3 9\n neighbor eth0 bfd\n neighbor eth0 bfd profile fast\n", 1)
	u := newUnnumbered(t, conf)
	bfdd := startBFDD(t, u.router)
	p := u.peer
	p.HoldTime, p.KeepaliveTime, p.BFD = 9*time.Second, 3*time.Second, fastBFD
	u.setPeer(t, p)
	// Steady first, as in waitSteady: FRR's bgpd re-registers its BFD
	// session once BGP is up, which takes both down once.
	var since time.Time
	check.Eventually(t, 30*time.Second, "session, BFD on both sides and both routes steady", func() error {
		err := func() error {
			if st := u.sp.State("fabric"); st.State != StateEstablished || st.BFD != BFDUp {
				return fmt.Errorf("%+v", st)
			}
			peers, err := bfdd.Peers()
			if err != nil {
				return err
			}
			if len(peers) != 1 || peers[0].Status != "up" || peers[0].RemoteTransmitInterval != 300 || peers[0].Interface != "eth0" {
				return fmt.Errorf("FRR's BFD peers %+v, want one up on eth0 at 300 ms", peers)
			}
			for _, pfx := range []netip.Prefix{u.lb6, u.lb4} {
				if nh := fibNexthops(t, u.router, pfx); len(nh) != 1 {
					return fmt.Errorf("%s via %v", pfx, nh)
				}
			}
			return nil
		}()
		if err != nil {
			since = time.Time{}
			return err
		}
		if since.IsZero() {
			since = time.Now()
		}
		if time.Since(since) < 2*time.Second {
			return fmt.Errorf("steady for %v only", time.Since(since).Round(time.Millisecond))
		}
		return nil
	})
	began := time.Now()
	cutLink(t, u.node)
	check.Eventually(t, 8*time.Second, "routes gone after the link cut", func() error {
		for _, pfx := range []netip.Prefix{u.lb6, u.lb4} {
			if nh := fibNexthops(t, u.router, pfx); len(nh) != 0 {
				return fmt.Errorf("%s still via %v", pfx, nh)
			}
		}
		return nil
	})
	d := time.Since(began)
	t.Logf("unnumbered with BFD 300ms x 3: link cut to both routes gone in %v (hold time 9s)", d.Round(time.Millisecond))
	if d > 3*time.Second {
		t.Errorf("withdrawal took %v: BFD (0.9 s detection) should beat the 9 s hold time", d)
	}
}

// TestFRRUnnumberedNewNeighbour: the router behind the link changes its
// link-local address (as a replaced router would have another one). The
// session to the old address goes down; SetPeers, called again as the
// speaker does while an unnumbered session is down, finds the new
// neighbour by soliciting and restarts the session towards it.
func TestFRRUnnumberedNewNeighbour(t *testing.T) {
	u := newUnnumbered(t, unnumberedConf)
	u.setPeer(t, u.peer)
	waitEstablished(t, u.sp, "fabric")
	old := u.sp.State("fabric").Address.Addr()
	// Another MAC, so the kernel derives another link-local address
	// when the link comes back up.
	for _, args := range [][]string{
		{"ip", "link", "set", "eth0", "down"},
		{"ip", "-6", "addr", "flush", "dev", "eth0", "scope", "link"},
		{"ip", "link", "set", "eth0", "address", "02:00:5e:00:53:99"},
		{"ip", "link", "set", "eth0", "up"},
	} {
		check.Must(t, u.rtr.Exec(args...))
	}
	fresh := linkLocalOf(t, u.rtr, "eth0").WithZone("")
	if fresh == old.WithZone("") {
		t.Fatalf("the router's link-local address stayed %s", fresh)
	}
	began := time.Now()
	check.Eventually(t, 60*time.Second, "session re-established towards "+fresh.String(), func() error {
		if errs := u.sp.SetPeers(u.peer); len(errs) > 0 {
			return fmt.Errorf("%v", errs)
		}
		st := u.sp.State("fabric")
		if st.State != StateEstablished || st.Address.Addr().WithZone("") != fresh {
			return fmt.Errorf("session %s to %s (was %s)", st.State, st.Address, old)
		}
		return nil
	})
	t.Logf("router's link-local address %s -> %s: session back %v later", old, fresh, time.Since(began).Round(time.Millisecond))
	check.Eventually(t, 20*time.Second, "routes back in the router's kernel", func() error {
		for _, pfx := range []netip.Prefix{u.lb6, u.lb4} {
			if nh := fibNexthops(t, u.router, pfx); len(nh) != 1 {
				return fmt.Errorf("%s via %v", pfx, nh)
			}
		}
		return nil
	})
}
