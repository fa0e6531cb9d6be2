package lab

import (
	"fmt"
	"net/netip"

	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// The optional router (Options.Router): an FRR router (zebra + bgpd from
// Debian's frr, via testsupport/frrlab) on the node LAN, as a top-of-rack
// router would be, with a second link to an "outside" client on a subnet of
// its own. That client reaches LoadBalancer IPs only through the router, so
// it reaches them only when BGP taught the router a route.
//
//	<tag>-rtr      eth0 198.18.1.254/24, 2001:db8:1::254/64 (node LAN)
//	               eth1 198.18.2.1/24, 2001:db8:2::1/64 (outside link)
//	               FRR: AS 64500, passive neighbors = every node's LAN
//	               addresses (IPv4 and IPv6 sessions), maximum-paths 8,
//	               routes installed into the namespace's kernel (ECMP with
//	               L4 hashing, so one client's connections spread over nodes)
//	<tag>-outside  eth0 198.18.2.2/24, 2001:db8:2::2/64; the lab ranges
//	               198.18.0.0/15 and 2001:db8::/32 via the router
//
// Nodes get a route to the outside subnet via the router, as their default
// gateway would give them, so replies find their way back.
var (
	RouterIPv4        = netip.MustParseAddr("198.18.1.254")
	RouterIPv6        = netip.MustParseAddr("2001:db8:1::254")
	RouterOutsideIPv4 = netip.MustParseAddr("198.18.2.1")
	RouterOutsideIPv6 = netip.MustParseAddr("2001:db8:2::1")
	OutsideIPv4       = netip.MustParseAddr("198.18.2.2")
	OutsideIPv6       = netip.MustParseAddr("2001:db8:2::2")
	OutsideV4         = netip.MustParsePrefix("198.18.2.0/24")
	OutsideV6         = netip.MustParsePrefix("2001:db8:2::/64")
)

const (
	// RouterASN is the router's AS; BGPPeers name it as peerASN.
	RouterASN = 64500
	// NodeASN is the AS the router expects from every node (eBGP);
	// BGPPeers name it as myASN.
	NodeASN = 64512
)

// Router is the lab's FRR router and the client behind it.
type Router struct {
	NS *netlab.Namespace
	// FRR queries and configures the router (vtysh).
	FRR *frrlab.Router
	// Outside is the client namespace behind the router.
	Outside *netlab.Namespace
}

// routerConfig is bgpd's configuration for nodes 1..n: eBGP from every
// node's IPv4 and IPv6 LAN address, ECMP over them.
func routerConfig(n int) string {
	v4 := frrlab.PeerGroup{Name: "nodes4", RemoteAS: fmt.Sprint(NodeASN), Families: []string{"ipv4"}}
	v6 := frrlab.PeerGroup{Name: "nodes6", RemoteAS: fmt.Sprint(NodeASN), Families: []string{"ipv6"}}
	for i := 1; i <= n; i++ {
		p := planNode(i)
		v4.Members = append(v4.Members, p.LANv4.String())
		v6.Members = append(v6.Members, p.LANv6.String())
	}
	return frrlab.ToR{ASN: RouterASN, RouterID: RouterIPv4.String(), Groups: []frrlab.PeerGroup{v4, v6}, MaxPaths: 8}.Config()
}

// startRouter builds the router and outside namespaces, wires them and
// starts FRR. Called after buildNetwork, before any speaker starts.
func (l *Lab) startRouter() error {
	rns, err := l.net.AddNamespace("rtr")
	if err != nil {
		return err
	}
	for _, kv := range []string{
		"net.ipv4.ip_forward=1",
		"net.ipv6.conf.all.forwarding=1",
		"net.ipv4.conf.all.rp_filter=0",
		"net.ipv4.conf.default.rp_filter=0",
		// Hash on ports too: one client's connections spread over the
		// equal-cost next hops, as on a real ECMP fabric.
		"net.ipv4.fib_multipath_hash_policy=1",
		"net.ipv6.fib_multipath_hash_policy=1",
	} {
		if err := rns.Exec("sysctl", "-qw", kv); err != nil {
			return err
		}
	}
	if err := l.plug(rns, lanDev, "rtr", lanBridge, RouterIPv4.String()+"/24", RouterIPv6.String()+"/64"); err != nil {
		return err
	}
	out, err := l.net.AddNamespace("outside")
	if err != nil {
		return err
	}
	l.vethMu.Lock()
	err = l.net.Veth(rns, "eth1", out, lanDev)
	l.vethMu.Unlock()
	if err != nil {
		return err
	}
	for _, a := range []struct {
		ns   *netlab.Namespace
		dev  string
		cidr string
	}{
		{rns, "eth1", RouterOutsideIPv4.String() + "/24"},
		{rns, "eth1", RouterOutsideIPv6.String() + "/64"},
		{out, lanDev, OutsideIPv4.String() + "/24"},
		{out, lanDev, OutsideIPv6.String() + "/64"},
	} {
		if err := a.ns.AddAddr(a.dev, a.cidr); err != nil {
			return err
		}
	}
	for _, r := range [][2]string{
		{"198.18.0.0/15", RouterOutsideIPv4.String()},
		{"2001:db8::/32", RouterOutsideIPv6.String()},
	} {
		if err := out.AddRoute(r[0], r[1]); err != nil {
			return err
		}
	}
	for _, n := range l.Nodes {
		if err := n.NS.AddRoute(OutsideV4.String(), RouterIPv4.String()); err != nil {
			return err
		}
		if err := n.NS.AddRoute(OutsideV6.String(), RouterIPv6.String()); err != nil {
			return err
		}
	}
	l.Router = &Router{NS: rns, Outside: out}
	if l.Router.FRR, err = frrlab.Start(rns, frrlab.Config{BGPD: routerConfig(len(l.Nodes))}); err != nil {
		return fmt.Errorf("router: %w", err)
	}
	l.step("router %s (FRR, AS %d) at %s/%s; outside client %s behind it", rns.Name, RouterASN, RouterIPv4, RouterIPv6, out.Name)
	return nil
}

// closeRouter stops FRR and removes its directory (the namespaces go with
// the rest of the lab).
func (l *Lab) closeRouter() {
	if l.Router != nil && l.Router.FRR != nil {
		l.Router.FRR.Close()
	}
}

// LinkToNode adds a point-to-point link between the router (rtrDev) and
// node n (nodeDev) with no addresses but the kernel's IPv6 link-local
// ones: an unnumbered fabric link. It goes with the namespaces.
func (l *Lab) LinkToNode(n *Node, rtrDev, nodeDev string) error {
	if l.Router == nil {
		return fmt.Errorf("lab has no router")
	}
	l.vethMu.Lock()
	defer l.vethMu.Unlock()
	return l.net.Veth(l.Router.NS, rtrDev, n.NS, nodeDev)
}
