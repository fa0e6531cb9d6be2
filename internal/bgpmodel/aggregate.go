package bgpmodel

import (
	"fmt"
	"net/netip"
)

// Aggregate returns the prefix announced for a LoadBalancer IP: ip masked
// to v4Len bits when it is IPv4 and to v6Len bits when it is IPv6, the
// BGPAdvertisement aggregationLength and aggregationLengthV6 (32 and 128
// announce the address alone). IPv4-mapped IPv6 addresses are treated as
// IPv4, since that is the family they are routed in.
//
// Several LoadBalancer IPs can aggregate to the same prefix; the prefix is
// then announced once and withdrawn when no advertisement asks for it.
func Aggregate(ip netip.Addr, v4Len, v6Len int) (netip.Prefix, error) {
	if !ip.IsValid() {
		return netip.Prefix{}, fmt.Errorf("aggregate: invalid IP address")
	}
	ip = ip.Unmap().WithZone("")
	bits := v6Len
	if ip.Is4() {
		bits = v4Len
	}
	if bits < 0 || bits > ip.BitLen() {
		return netip.Prefix{}, fmt.Errorf("aggregate: length /%d is outside 0-%d for %s", bits, ip.BitLen(), ip)
	}
	return netip.PrefixFrom(ip, bits).Masked(), nil
}
