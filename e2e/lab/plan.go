package lab

import (
	"fmt"
	"net/netip"
)

// The lab's fixed address plan (see the package documentation). Every lab
// uses the same addresses: each lives in its own namespaces, so labs never
// see each other.
var (
	// MgmtCP is the API server's address on the management LAN.
	MgmtCP = netip.MustParseAddr("198.18.0.1")
	// ClientIPv4 and ClientIPv6 are the outside client's LAN addresses.
	ClientIPv4 = netip.MustParseAddr("198.18.1.201")
	ClientIPv6 = netip.MustParseAddr("2001:db8:1::201")
	// LANv4 and LANv6 are the node LAN's prefixes.
	LANv4 = netip.MustParsePrefix("198.18.1.0/24")
	LANv6 = netip.MustParsePrefix("2001:db8:1::/64")
	// ClusterCIDRs hold every Pod address (kube-proxy's detect-local).
	ClusterCIDRv4 = netip.MustParsePrefix("198.18.240.0/20")
	ClusterCIDRv6 = netip.MustParsePrefix("2001:db8:244::/56")
	// ServiceCIDRs are the ClusterIP ranges, IPv4 first (the primary family).
	ServiceCIDRv4 = netip.MustParsePrefix("198.19.0.0/16")
	ServiceCIDRv6 = netip.MustParsePrefix("2001:db8:96::/112")
	// PoolV4 and PoolV6 are LAN ranges no lab host uses, for IPAddressPools:
	// the seed's 192.168.11.136-139, re-addressed.
	PoolV4 = [2]netip.Addr{netip.MustParseAddr("198.18.1.136"), netip.MustParseAddr("198.18.1.139")}
	PoolV6 = [2]netip.Addr{netip.MustParseAddr("2001:db8:1::136"), netip.MustParseAddr("2001:db8:1::139")}
)

const (
	// APIPort is the API server's secure port inside the cp namespace.
	APIPort = 6443
	// maxNodes keeps node LAN addresses (.131 up) below the seed's pool
	// range .136-.139.
	maxNodes = 5
)

// nodePlan is node n's (1-based) addresses.
type nodePlan struct {
	LANv4, LANv6    netip.Addr
	Mgmt            netip.Addr
	PodV4, PodV6    netip.Prefix
	GatewayV4, GwV6 netip.Addr // the node's end of every Pod veth
}

func planNode(n int) nodePlan {
	if n < 1 || n > maxNodes {
		panic(fmt.Sprintf("lab: node number %d outside 1..%d", n, maxNodes))
	}
	p := nodePlan{
		LANv4: netip.AddrFrom4([4]byte{198, 18, 1, byte(130 + n)}),
		LANv6: netip.MustParseAddr(fmt.Sprintf("2001:db8:1::%d", 130+n)),
		Mgmt:  netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + n)}),
		PodV4: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(240 + n), 0}), 24),
		PodV6: netip.MustParsePrefix(fmt.Sprintf("2001:db8:244:%d::/64", n)),
	}
	p.GatewayV4 = p.PodV4.Addr().Next()
	p.GwV6 = p.PodV6.Addr().Next()
	return p
}

// podAddrs returns the k-th Pod address pair in node plan p (k >= 2; 1 is
// the gateway).
func (p nodePlan) podAddrs(k int) (netip.Addr, netip.Addr) {
	v4 := p.PodV4.Addr().As4()
	v4[3] = byte(k)
	v6 := p.PodV6.Addr().As16()
	v6[14], v6[15] = byte(k>>8), byte(k)
	return netip.AddrFrom4(v4), netip.AddrFrom16(v6)
}

// maxPodsPerNode bounds podAddrs' k to the /24.
const maxPodsPerNode = 250
