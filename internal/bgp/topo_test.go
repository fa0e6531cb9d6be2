package bgp

import (
	"fmt"
	"net/netip"
	"slices"
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
	sw, err := lab.AddSwitch("sw")
	check.Must(t, err)
	attach := func(ns *netlab.Namespace, addrs ...string) {
		t.Helper()
		_, err := sw.Plug(ns, "eth0", addrs...)
		check.Must(t, err)
	}
	tp.rtr, err = lab.AddNamespace("rtr")
	check.Must(t, err)
	attach(tp.rtr, "198.18.0.1/24", "198.18.0.2/24", "2001:db8::1/64")
	for i := range n {
		ns, err := lab.AddNamespace(fmt.Sprintf("n%d", i))
		check.Must(t, err)
		attach(ns, nodeV4(i).String()+"/24", nodeV4b(i).String()+"/24", nodeV6(i).String()+"/64")
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
	nodes := frrlab.PeerGroup{Name: "NODES", RemoteAS: "external", Timers: "1 3"}
	nodes6 := frrlab.PeerGroup{Name: "NODES6", RemoteAS: "external", Timers: "1 3"}
	for i := range n {
		nodes.Members = append(nodes.Members, nodeV4(i).String())
		nodes6.Members = append(nodes6.Members, nodeV6(i).String())
	}
	ibgp := frrlab.PeerGroup{Name: "IBGP", RemoteAS: "internal", Timers: "1 3"}
	return frrlab.ToR{ASN: routerASN, RouterID: routerV4.String(), Groups: []frrlab.PeerGroup{nodes, nodes6, ibgp}, Extra: extra}.Config()
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
