package lab

import (
	"fmt"
	"net/netip"

	"github.com/barelb/barelb/testsupport/netlab"
)

// StandInAnnounce makes the node answer ARP/NDP for addr on the LAN by
// holding it as a local address on its LAN interface, the way a speaker's
// announcement would attract the traffic. kube-proxy's prerouting DNAT then
// serves it exactly as it serves a speaker-announced address. It exists so
// the lab's LoadBalancer data path can be tested without barelb's speaker;
// the returned function withdraws the address.
func (n *Node) StandInAnnounce(addr netip.Addr) (withdraw func() error, err error) {
	lan := LANv4
	if addr.Is6() {
		lan = LANv6
	}
	if !lan.Contains(addr) {
		return nil, fmt.Errorf("lab: %s is not on the node LAN %s", addr, lan)
	}
	cidr := netip.PrefixFrom(addr, addr.BitLen()).String()
	if !netlab.AllowedPrefix(netip.MustParsePrefix(cidr)) {
		return nil, fmt.Errorf("lab: %s outside the lab ranges", addr)
	}
	if err := n.NS.AddAddr(n.LANDev, cidr); err != nil {
		return nil, err
	}
	if addr.Is4() {
		// Tell the LAN now rather than when caches expire, as a speaker's
		// gratuitous ARP does.
		_ = n.NS.Exec("arping", "-q", "-U", "-c", "1", "-I", n.LANDev, addr.String())
	}
	return func() error { return n.NS.Exec("ip", "addr", "del", cidr, "dev", n.LANDev) }, nil
}
