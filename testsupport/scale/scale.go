// Package scale builds the synthetic clusters of the scale benchmarks
// (make bench-scale): n nodes, m LoadBalancer Services in an IPv4, IPv6 or
// dual-stack mix, one dual-stack pool, and advertisements that select
// every node, so that every package is measured on the same inputs.
//
// Everything is a pure function of the sizes: the same call returns the
// same cluster, so runs compare.
package scale

import (
	"fmt"
	"net/netip"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// Mix is the address families of the Services.
type Mix string

const (
	IPv4 Mix = "ipv4"
	IPv6 Mix = "ipv6"
	// Dual gives Services in turn one IPv4, one IPv6 and both addresses
	// (RequireDualStack): 4 IPs for every 3 Services.
	Dual Mix = "dual"
)

// Mixes are all three, in the order the tables print them.
var Mixes = []Mix{IPv4, IPv6, Dual}

// Families returns the families of Service i.
func (m Mix) Families(i int) []addr.Family {
	switch {
	case m == IPv4, m == Dual && i%3 == 0:
		return []addr.Family{addr.IPv4}
	case m == IPv6, m == Dual && i%3 == 1:
		return []addr.Family{addr.IPv6}
	}
	return []addr.Family{addr.IPv4, addr.IPv6}
}

// The pool holds every address the Services use: 2^17 IPv4 and a /64 of
// IPv6, inside the lab ranges.
const (
	PoolName = "scale"
	PoolV4   = "198.18.0.0/15"
	PoolV6   = "2001:db8:5ca1::/64"
)

var (
	base4 = netip.MustParseAddr("198.18.0.0")
	base6 = netip.MustParseAddr("2001:db8:5ca1::")
)

// IPs returns Service i's addresses: the i-th of the pool in each of its
// families, so no two Services share one.
func (m Mix) IPs(i int) []netip.Addr {
	var out []netip.Addr
	for _, f := range m.Families(i) {
		b := base4
		if f == addr.IPv6 {
			b = base6
		}
		ip, ok := addr.Add(b, uint64(i))
		if !ok {
			panic(fmt.Sprintf("Service %d does not fit the pool", i))
		}
		out = append(out, ip)
	}
	return out
}

// NodeName names node i.
func NodeName(i int) string { return fmt.Sprintf("worker-%04d.scale.example", i) }

// Nodes returns n alive nodes, each labelled with its rack (of 40 nodes).
func Nodes(n int) []eligibility.Node {
	out := make([]eligibility.Node, n)
	for i := range out {
		out[i] = eligibility.Node{
			Name:   NodeName(i),
			Labels: map[string]string{"kubernetes.io/hostname": NodeName(i), "topology.kubernetes.io/zone": fmt.Sprintf("rack-%d", i/40)},
			Alive:  true,
		}
	}
	return out
}

// LocalEvery is how often a Service has externalTrafficPolicy: Local.
const LocalEvery = 100

// Service returns Service i of a cluster of nodes nodes: ready endpoints
// on three nodes, and one in LocalEvery with externalTrafficPolicy: Local.
func (m Mix) Service(i, nodes int) eligibility.Service {
	ready := map[string]bool{}
	for k := range 3 {
		ready[NodeName((i*7+k*13)%nodes)] = true
	}
	return eligibility.Service{
		Key:        fmt.Sprintf("ns-%d/svc-%d", i%100, i),
		IPs:        m.IPs(i),
		Local:      i%LocalEvery == 0,
		ReadyNodes: ready,
	}
}

// Services returns Services 0 to n-1 of a cluster of nodes nodes.
func (m Mix) Services(n, nodes int) []eligibility.Service {
	out := make([]eligibility.Service, n)
	for i := range out {
		out[i] = m.Service(i, nodes)
	}
	return out
}

// Input returns the configuration objects: the one pool, an
// L2Advertisement and a BGPAdvertisement for it on every node, and one
// BGP peer.
func Input() config.Input {
	return config.Input{
		Pools: []v1beta1.IPAddressPool{{
			ObjectMeta: metav1.ObjectMeta{Name: PoolName},
			Spec:       v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{PoolV4, PoolV6}},
		}},
		L2Advertisements:  []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "l2"}}},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{{ObjectMeta: metav1.ObjectMeta{Name: "bgp"}}},
		Peers: []v1beta2.BGPPeer{{
			ObjectMeta: metav1.ObjectMeta{Name: "tor"},
			Spec:       v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.19.255.1"},
		}},
	}
}

// Config is Input built; it panics on a problem, which would be a bug of
// this package.
func Config() *config.Config {
	c, ps := config.Build(Input())
	if len(ps) > 0 {
		panic(ps.Error())
	}
	return c
}

// ManyPools returns n pools of 16 IPv4 and 256 IPv6 addresses each, each
// with its own L2Advertisement and BGPAdvertisement selecting a rack, for
// measuring config.Build.
func ManyPools(n int) config.Input {
	var in config.Input
	for i := range n {
		v4, _ := addr.Add(base4, uint64(i)*16)
		v6, _ := addr.Add(base6, uint64(i)*256)
		name := fmt.Sprintf("pool-%d", i)
		in.Pools = append(in.Pools, v1beta1.IPAddressPool{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{
				v1beta1.AddressRange(netip.PrefixFrom(v4, 28).String()),
				v1beta1.AddressRange(netip.PrefixFrom(v6, 120).String()),
			}},
		})
		rack := []metav1.LabelSelector{{MatchLabels: map[string]string{"topology.kubernetes.io/zone": fmt.Sprintf("rack-%d", i%125)}}}
		in.L2Advertisements = append(in.L2Advertisements, v1beta1.L2Advertisement{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1beta1.L2AdvertisementSpec{IPAddressPools: []string{name}, NodeSelectors: rack},
		})
		in.BGPAdvertisements = append(in.BGPAdvertisements, v1beta1.BGPAdvertisement{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{name}, NodeSelectors: rack},
		})
	}
	return in
}
