package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// bgpDualPool is the dual-stack BGP-only pool: like bgpPool, off the node
// LAN in both families, so only a BGP route leads to its addresses.
var bgpDualPool = []string{"198.18.101.0/24", "2001:db8:101::/120"}

// bgpDualConfig is what a MetalLB user writes for a dual-stack fabric:
// one BGPPeer per router address family (an IPv4 session for IPv4
// prefixes, an IPv6 session for IPv6 ones), a pool with both families and
// one advertisement.
func bgpDualConfig() string {
	return labPeer("tor4", lab.RouterIPv4, "") + labPeer("tor6", lab.RouterIPv6, "") + labPool("bgp-dual", "bgp-dual", bgpDualPool...)
}

// labPeer is a BGPPeer to the lab router at addr with short timers and
// extra spec lines.
func labPeer(name string, addr netip.Addr, extra string) string {
	return fmt.Sprintf(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: %s, namespace: %s}
spec:
  myASN: %d
  peerASN: %d
  peerAddress: %s
  holdTime: 3s
  keepaliveTime: 1s
  connectTime: 1s
%s---
`, name, lab.ConfigNamespace, lab.NodeASN, lab.RouterASN, addr, extra)
}

func nodeIPv6s(ns []*lab.Node) []string {
	var ips []string
	for _, n := range ns {
		ips = append(ips, n.IPv6.String())
	}
	sort.Strings(ips)
	return ips
}

// TestBGPIPv6WithRouter: with an IPv4 and an IPv6 BGPPeer to the lab
// router, an IPv6-only, a RequireDualStack and a PreferDualStack
// LoadBalancer Service get addresses of both families as asked; the
// router installs every IPv6 address with one next hop per node (ECMP in
// its kernel) and the IPv4 ones likewise, and the outside client, whose
// only way in is the router, reaches the backends over IPv6 and IPv4.
// One IPv4 session carrying both families (dualStackAddressFamily, the
// router's IPv4 group active for IPv6 too) moves the IPv6 routes onto the
// IPv4 sessions with the nodes' IPv6 addresses as next hops. An
// unnumbered BGPPeer (spec.interface) on a fabric link of its own
// carries both families to the router too (unnumberedThroughRouter).
// Deleting the Services withdraws the IPv6 routes too.
func TestBGPIPv6WithRouter(t *testing.T) {
	l := startBGPLab(t)
	defer timed("BGP IPv6 and dual-stack through the FRR router")()
	applyYAML(t, l, bgpDualConfig())
	all4, all6 := nodeIPs(l.Nodes), nodeIPv6s(l.Nodes)

	began := time.Now()
	check.Eventually(t, 60*time.Second, "IPv4 and IPv6 sessions from every speaker", func() error {
		sum, err := l.Router.FRR.Summary()
		if err != nil {
			return err
		}
		for fam, ips := range map[string][]string{"ipv4Unicast": all4, "ipv6Unicast": all6} {
			for _, ip := range ips {
				if st := sum[fam][ip].State; st != "Established" {
					return fmt.Errorf("%s session with %s: %q", fam, ip, st)
				}
			}
		}
		return nil
	})
	record("BGP IPv6: IPv4 and IPv6 sessions established", time.Since(began))

	ns := "bgp-v6"
	webApp(t, l, ns, 3, "  type: LoadBalancer\n  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv6, IPv4]")
	applyYAML(t, l, lbServiceYAML(ns, "v6", "bgp-dual", 80, nil, "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv6]")+"---\n"+
		lbServiceYAML(ns, "prefer", "bgp-dual", 80, nil, "  ipFamilyPolicy: PreferDualStack\n  ipFamilies: [IPv6, IPv4]"))
	pods := names(readyPods(t, l, ns, "app=web", 3))

	pool4, pool6 := netip.MustParsePrefix(bgpDualPool[0]), netip.MustParsePrefix(bgpDualPool[1])
	for _, c := range []struct {
		svc      string
		families int
	}{{"v6", 1}, {"web", 2}, {"prefer", 2}} {
		t.Run(c.svc, func(t *testing.T) {
			shown := time.Now()
			ips := lbIPs(t, l, ns, c.svc, c.families)
			var v6 []netip.Addr
			for _, ip := range ips {
				switch {
				case ip.Is6() && pool6.Contains(ip):
					v6 = append(v6, ip)
				case ip.Is4() && pool4.Contains(ip) && c.families == 2:
				default:
					t.Fatalf("%s got %v, want one IPv6 address from %s (and one IPv4 from %s when dual-stack)", c.svc, ips, pool6, pool4)
				}
			}
			if len(v6) != 1 {
				t.Fatalf("%s got %v, want exactly one IPv6 address", c.svc, ips)
			}
			for _, ip := range ips {
				want := all4
				if ip.Is6() {
					want = all6
				}
				d := waitNexthops(t, l, host(ip), want, 30*time.Second)
				if ip.Is6() {
					record("BGP IPv6: "+c.svc+" Service to ECMP route", time.Since(shown))
				}
				t.Logf("%s: route %s in the router's kernel via %v after %v", c.svc, host(ip), want, d.Round(time.Millisecond))
				seen := backends(t, l.Router.Outside, lab.URL(ip, 80), pods)
				t.Logf("%s: answers to %s through the router: %v", c.svc, ip, seen)
			}
			// The outside client reaches the IPv6 address only through
			// the router: it is on no link of the client's.
			if out, err := l.Router.Outside.Output("ip", "-6", "route", "get", v6[0].String()); err != nil || !strings.Contains(out, "via "+lab.RouterOutsideIPv6.String()) {
				t.Errorf("outside client's route to %s: %q %v", v6[0], out, err)
			}
			// The kernel route itself is multipath: several next hops.
			out, err := l.Router.NS.Output("ip", "-6", "route", "show", host(v6[0]).String())
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(out, "nexthop via"); n != len(l.Nodes) {
				t.Errorf("router's kernel route to %s has %d next hops, want %d:\n%s", v6[0], n, len(l.Nodes), out)
			}
		})
	}

	t.Run("IPv6 over the IPv4 session (dualStackAddressFamily)", func(t *testing.T) {
		// The router's IPv4 group takes IPv6 too (MP-BGP); barelb's
		// IPv4 peer carries both families, the IPv6 peer goes.
		if err := l.Router.FRR.Configure("router bgp "+fmt.Sprint(lab.RouterASN), "address-family ipv6 unicast", "neighbor nodes4 activate", "exit-address-family"); err != nil {
			t.Fatal(err)
		}
		applyYAML(t, l, labPeer("tor4", lab.RouterIPv4, "  dualStackAddressFamily: true\n"))
		kubectl(t, l, "-n", lab.ConfigNamespace, "delete", "bgppeer", "tor6")
		ip := lbIPs(t, l, ns, "v6", 1)[0]
		began := time.Now()
		check.Eventually(t, 60*time.Second, fmt.Sprintf("%s learnt over the IPv4 sessions only, via every node's IPv6 address", ip), func() error {
			paths, err := l.Router.FRR.BGPPaths(host(ip))
			if err != nil {
				return err
			}
			var from []string
			for _, p := range paths {
				from = append(from, p.Peer.PeerID)
			}
			sort.Strings(from)
			if !slices.Equal(from, all4) {
				return fmt.Errorf("paths from %v, want from %v", from, all4)
			}
			got, err := routeNexthops(l, host(ip))
			if err != nil || !slices.Equal(got, all6) {
				return fmt.Errorf("kernel next hops %v (%v), want %v", got, err, all6)
			}
			return nil
		})
		t.Logf("IPv6 route %s moved onto the IPv4 sessions in %v", ip, time.Since(began).Round(time.Millisecond))
		backends(t, l.Router.Outside, lab.URL(ip, 80), pods)
	})

	t.Run("unnumbered peer on a fabric link", func(t *testing.T) { unnumberedThroughRouter(t, l, ns, pods) })

	t.Run("Service deletion withdraws the IPv6 route", func(t *testing.T) {
		ip := lbIPs(t, l, ns, "v6", 1)[0]
		began := time.Now()
		kubectl(t, l, "-n", ns, "delete", "service", "v6")
		waitNexthops(t, l, host(ip), nil, 15*time.Second)
		t.Logf("route %s withdrawn %v after the delete", ip, time.Since(began).Round(time.Millisecond))
		unreachable(t, l.Router.Outside, lab.URL(ip, 80))
	})
}

// unnumberedThroughRouter: node 1 gets a second, unnumbered link to the
// router (only link-local addresses) and a BGPPeer naming the interface
// for that node, refused with the reason while the router has no
// "neighbor fab0 interface", then run once it has. The router
// learns the dual-stack Service's IPv6 and IPv4 addresses over it as
// well (next hop: the node's link-local address, RFC 8950 for IPv4);
// with the LAN peers removed it is the only path, and the outside client
// still gets answers, through the fabric link.
func unnumberedThroughRouter(t *testing.T, l *lab.Lab, ns string, pods []string) {
	n := l.Nodes[0]
	const dev = "fab0"
	if err := l.LinkToNode(n, dev, dev); err != nil {
		t.Fatal(err)
	}
	applyYAML(t, l, fmt.Sprintf(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: fabric, namespace: %s}
spec:
  myASN: %d
  peerASN: %d
  interface: %s
  holdTime: 3s
  keepaliveTime: 1s
  connectTime: 1s
  nodeSelectors:
  - matchLabels: {kubernetes.io/hostname: %s}
`, lab.ConfigNamespace, lab.NodeASN, lab.RouterASN, dev, n.Name))
	// The router does not know the link yet (no neighbor, so no Router
	// Advertisements): the speaker refuses the peer with the reason,
	// and keeps looking.
	check.Eventually(t, 30*time.Second, "a PeerRefused Event on BGPPeer fabric for want of a neighbour", func() error {
		evs, err := l.Client.CoreV1().Events(lab.ConfigNamespace).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=fabric"})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == "PeerRefused" && strings.Contains(e.Message, "no IPv6 link-local neighbour yet") {
				t.Logf("Event: %s: %s", e.Reason, e.Message)
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("events %q", seen)
	})
	began := time.Now()
	if err := l.Router.FRR.Configure("router bgp "+fmt.Sprint(lab.RouterASN),
		"neighbor "+dev+" interface remote-as external", "neighbor "+dev+" timers 1 3",
		"address-family ipv4 unicast", "neighbor "+dev+" activate", "exit-address-family",
		"address-family ipv6 unicast", "neighbor "+dev+" activate", "exit-address-family"); err != nil {
		t.Fatal(err)
	}
	ips := lbIPs(t, l, ns, "web", 2)
	viaFabric := func(ip netip.Addr) error {
		out, err := l.Router.NS.Output("ip", "route", "show", host(ip).String())
		if ip.Is6() {
			out, err = l.Router.NS.Output("ip", "-6", "route", "show", host(ip).String())
		}
		if err != nil {
			return err
		}
		if !strings.Contains(out, "dev "+dev) {
			return fmt.Errorf("kernel route %q has no next hop on %s", strings.TrimSpace(out), dev)
		}
		return nil
	}
	for _, ip := range ips {
		check.Eventually(t, 60*time.Second, fmt.Sprintf("router route to %s via the unnumbered link", ip), func() error { return viaFabric(ip) })
	}
	record("BGP unnumbered: router configured to routes via the fabric link", time.Since(began))
	t.Logf("unnumbered session and both families' routes over %s %v after the router was configured (the speaker retrying every 2 s)", dev, time.Since(began).Round(time.Millisecond))
	for _, ip := range ips {
		paths, err := l.Router.FRR.BGPPaths(host(ip))
		if err != nil {
			t.Fatal(err)
		}
		ll := 0
		for _, p := range paths {
			for _, nh := range p.Nexthops {
				if strings.HasPrefix(nh.IP, "fe80:") {
					ll++
				}
			}
		}
		if ll == 0 {
			t.Errorf("%s: no BGP path with a link-local next hop: %+v", ip, paths)
		}
	}

	// Only the fabric link left: the LAN sessions go, the routes stay.
	kubectl(t, l, "-n", lab.ConfigNamespace, "delete", "bgppeer", "tor4", "tor6", "--ignore-not-found")
	for _, ip := range ips {
		want := 1
		check.Eventually(t, 30*time.Second, fmt.Sprintf("router route to %s only via %s", ip, dev), func() error {
			e, err := l.Router.FRR.RIBRoute(host(ip), "bgp")
			if err != nil || e == nil {
				return fmt.Errorf("no route: %v", err)
			}
			if got := len(e.FIBNexthops()); got != want {
				return fmt.Errorf("%d next hops %v", got, e.FIBNexthops())
			}
			return viaFabric(ip)
		})
		seen := backends(t, l.Router.Outside, lab.URL(ip, 80), pods)
		t.Logf("answers to %s through the unnumbered link only: %v", ip, seen)
	}
}
