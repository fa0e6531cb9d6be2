package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// The FRR test network: a ToR router and N nodes on one LAN, a bridge in
// a switch namespace. Only documentation ranges are used.
//
//	rtr  eth0 198.18.0.1/24 198.18.0.2/24 2001:db8::1/64   AS 64500
//	node i eth0 198.18.0.(11+i)/24 2001:db8::(11+i)/64     AS 64512
//	LoadBalancer prefixes come from 198.19.0.0/16 and 2001:db8:ff::/48.
const (
	routerASN = 64500
	nodeASN   = 64512
)

var (
	routerV4  = netip.MustParseAddr("198.18.0.1")
	routerV4b = netip.MustParseAddr("198.18.0.2")
	routerV6  = netip.MustParseAddr("2001:db8::1")
)

func nodeV4(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("198.18.0.%d", 11+i)) }
func nodeV6(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8::%d", 11+i)) }

// nodeV4b is a second node address, for a second session to the router.
func nodeV4b(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("198.18.0.%d", 21+i)) }

type topo struct {
	lab    *netlab.Lab
	rtr    *netlab.Namespace
	router *frrlab.Router
	nodes  []*netlab.Namespace
}

// newTopo builds the LAN with n nodes and starts FRR with bgpdConf.
func newTopo(t testing.TB, n int, bgpdConf string) *topo {
	t.Helper()
	lab := netlab.NewForTest(t, "bgp")
	tp := &topo{lab: lab}
	sw, err := lab.AddNamespace("sw")
	check.Must(t, err)
	check.Must(t, sw.Bridge("br0"))
	attach := func(ns *netlab.Namespace, port string, addrs ...string) {
		t.Helper()
		check.Must(t, lab.Veth(ns, "eth0", sw, port))
		check.Must(t, sw.Attach(port, "br0"))
		for _, a := range addrs {
			check.Must(t, ns.AddAddr("eth0", a))
		}
	}
	tp.rtr, err = lab.AddNamespace("rtr")
	check.Must(t, err)
	attach(tp.rtr, "p0", "198.18.0.1/24", "198.18.0.2/24", "2001:db8::1/64")
	for i := range n {
		ns, err := lab.AddNamespace(fmt.Sprintf("n%d", i))
		check.Must(t, err)
		attach(ns, fmt.Sprintf("p%d", i+1),
			nodeV4(i).String()+"/24", nodeV4b(i).String()+"/24", nodeV6(i).String()+"/64")
		tp.nodes = append(tp.nodes, ns)
	}
	tp.router = frrlab.StartForTest(t, tp.rtr, frrlab.Config{BGPD: bgpdConf})
	return tp
}

// routerConf is the ToR's bgpd.conf: passive eBGP neighbors for the
// nodes' IPv4 and IPv6 addresses, ECMP across them, plus extra lines
// inside "router bgp" (before the address families). Extra lines can put
// more neighbors into the peer groups NODES (eBGP) and IBGP (iBGP), which
// are active for both address families.
func routerConf(n int, extra ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `frr defaults datacenter
hostname rtr
log timestamp precision 3
router bgp %d
 bgp router-id %s
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 bgp bestpath as-path multipath-relax
 neighbor NODES peer-group
 neighbor NODES remote-as external
 neighbor NODES passive
 neighbor NODES timers 1 3
 neighbor NODES6 peer-group
 neighbor NODES6 remote-as external
 neighbor NODES6 passive
 neighbor NODES6 timers 1 3
 neighbor IBGP peer-group
 neighbor IBGP remote-as internal
 neighbor IBGP passive
 neighbor IBGP timers 1 3
`, routerASN, routerV4)
	for i := range n {
		fmt.Fprintf(&b, " neighbor %s peer-group NODES\n neighbor %s peer-group NODES6\n", nodeV4(i), nodeV6(i))
	}
	for _, l := range extra {
		fmt.Fprintf(&b, " %s\n", l)
	}
	b.WriteString(` address-family ipv4 unicast
  neighbor NODES activate
  neighbor NODES6 activate
  neighbor IBGP activate
  maximum-paths 16
  maximum-paths ibgp 16
 exit-address-family
 address-family ipv6 unicast
  neighbor NODES activate
  neighbor NODES6 activate
  neighbor IBGP activate
  maximum-paths 16
  maximum-paths ibgp 16
 exit-address-family
`)
	return b.String()
}

// nodePeer is the usual session from node i to the router over IPv4.
func nodePeer(i int) bgpmodel.Peer {
	return bgpmodel.Peer{
		Name: "tor", MyASN: nodeASN, PeerASN: routerASN, Address: routerV4,
		SourceAddress: nodeV4(i), RouterID: nodeV4(i),
		HoldTime: 3 * time.Second, KeepaliveTime: time.Second, ConnectTime: time.Second,
	}
}

// fibNexthops is the router's installed next hops for prefix (nil if none).
func fibNexthops(t testing.TB, r *frrlab.Router, prefix netip.Prefix) []string {
	t.Helper()
	e, err := r.RIBRoute(prefix, "bgp")
	check.Must(t, err)
	if e == nil {
		return nil
	}
	nh := e.FIBNexthops()
	slices.Sort(nh)
	return nh
}

func wantNexthops(t testing.TB, r *frrlab.Router, prefix netip.Prefix, timeout time.Duration, want ...netip.Addr) {
	t.Helper()
	ws := make([]string, len(want))
	for i, a := range want {
		ws[i] = a.String()
	}
	slices.Sort(ws)
	check.Eventually(t, timeout, fmt.Sprintf("router FIB next hops for %s = %v", prefix, ws), func() error {
		if got := fibNexthops(t, r, prefix); !slices.Equal(got, ws) {
			return fmt.Errorf("have %v", got)
		}
		return nil
	})
}

func waitEstablished(t testing.TB, sp *speaker, name string) {
	t.Helper()
	check.Eventually(t, 20*time.Second, sp.ns.Name+" session "+name+" established", func() error {
		if st := sp.State(name); st.State != StateEstablished {
			return fmt.Errorf("state %s, last error %q", st.State, st.LastError)
		}
		return nil
	})
}

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
