package members

import (
	"net/netip"
	"slices"
	"strings"
)

// Carriers returns the interfaces of a node, as its metadata m tells, that
// may carry ip now, sorted; when there are none, reason says why in a
// sentence fit for an Event. It is pure and the same on every speaker, so
// every speaker computes the same plan from the same gossip.
//
// The rules, in order:
//   - allowed is the L2Advertisement's interfaces list: when it is not
//     empty only those names count, ignored or not; when it is empty,
//     every interface ignore does not skip counts (ignore may be nil);
//   - when some counted interface, up or down, has a subnet containing
//     ip, only those count: the IP belongs on that LAN, and a node whose
//     link to it is down must not announce it on another one (its
//     management network, say);
//   - of what is left, an interface must be Up.
//
// A node without metadata (an older speaker, or none gossiped yet) is not
// covered: callers should leave it eligible rather than call Carriers
// with an empty NodeMeta, which has no interfaces and so refuses.
//
// Cost: linear in the node's interfaces and their prefixes.
func Carriers(m NodeMeta, ip netip.Addr, allowed []string, ignore func(string) bool) (names []string, reason string) {
	ip = ip.Unmap()
	var counted []Interface
	for _, i := range m.Interfaces {
		if len(allowed) > 0 && !slices.Contains(allowed, i.Name) {
			continue
		}
		if len(allowed) == 0 && ignore != nil && ignore(i.Name) {
			continue
		}
		counted = append(counted, i)
	}
	if len(counted) == 0 {
		if len(allowed) > 0 {
			return nil, "the node has none of the interfaces the L2Advertisement allows (" + strings.Join(allowed, ", ") + ")"
		}
		return nil, "the node has no LAN interface"
	}
	var onSubnet []Interface
	for _, i := range counted {
		if slices.ContainsFunc(i.Prefixes, func(p netip.Prefix) bool { return p.Contains(ip) }) {
			onSubnet = append(onSubnet, i)
		}
	}
	if len(onSubnet) > 0 {
		counted = onSubnet
	}
	var down []string
	for _, i := range counted {
		if i.Up {
			names = append(names, i.Name)
		} else {
			down = append(down, i.Name)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		return names, ""
	}
	slices.Sort(down)
	if len(onSubnet) > 0 {
		return nil, "the node's interfaces on the subnet of " + ip.String() + " are down (" + strings.Join(down, ", ") + ")"
	}
	return nil, "the node's interfaces that may carry " + ip.String() + " are down (" + strings.Join(down, ", ") + ")"
}
