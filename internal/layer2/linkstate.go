package layer2

import (
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkState is one LAN interface of this node as the speaker gossips it
// (internal/members node metadata), so that every speaker can tell
// whether this node can carry an IP at all.
type LinkState struct {
	Name string
	MAC  net.HardwareAddr
	// Up is true when the interface is usable: up, with carrier.
	Up bool
	// Prefixes are the interface's global unicast subnets (masked, no
	// link-local ones), sorted. A link that is down keeps those it had
	// when it was last up: the kernel removes IPv6 addresses from a link
	// set down, yet the link still is the one on that subnet.
	Prefixes []netip.Prefix
}

func (s LinkState) equal(o LinkState) bool {
	return s.Name == o.Name && s.Up == o.Up && string(s.MAC) == string(o.MAC) && slices.Equal(s.Prefixes, o.Prefixes)
}

// LinkStates returns, sorted by name, every interface that could carry
// announcements if it were up: usable ones (Up) and Ethernet interfaces
// that are only down or without carrier. Interfaces Options.Ignore skips
// are left out unless an announcement names one, so a node's hundreds of
// pod veths stay out of the gossip. It is as of the last rescan; a change
// is reported through Options.OnChange with Change.Links set. Addresses
// are read at every rescan (RescanInterval) and on link notifications.
func (a *Announcer) LinkStates() []LinkState {
	a.mu.RLock()
	defer a.mu.RUnlock()
	out := make([]LinkState, len(a.states))
	for i, s := range a.states {
		out[i] = LinkState{Name: s.Name, MAC: slices.Clone(s.MAC), Up: s.Up, Prefixes: slices.Clone(s.Prefixes)}
	}
	return out
}

// linkStates computes LinkStates from a netlink dump and the previous
// result. keep says whether an interface's name may be reported.
func linkStates(links []netlink.Link, addrs []netlink.Addr, usable map[int]linkInfo, prev []LinkState, keep func(string) bool) []LinkState {
	byIndex := make(map[int]netlink.Link, len(links))
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	prefixes := map[int][]netip.Prefix{}
	for _, ad := range addrs {
		if ad.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(ad.IPNet.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		if !ip.IsGlobalUnicast() {
			continue
		}
		bits, _ := ad.IPNet.Mask.Size()
		p := netip.PrefixFrom(ip, bits).Masked()
		if p.IsValid() && !slices.Contains(prefixes[ad.LinkIndex], p) {
			prefixes[ad.LinkIndex] = append(prefixes[ad.LinkIndex], p)
		}
	}
	var out []LinkState
	for _, l := range links {
		at := l.Attrs()
		_, up := usable[at.Index]
		if !keep(at.Name) || (!up && !couldCarry(l, byIndex)) {
			continue
		}
		ps := prefixes[at.Index]
		if !up {
			for _, p := range prev {
				if p.Name != at.Name {
					continue
				}
				for _, old := range p.Prefixes {
					if !slices.Contains(ps, old) {
						ps = append(ps, old)
					}
				}
			}
		}
		slices.SortFunc(ps, comparePrefixes)
		out = append(out, LinkState{Name: at.Name, MAC: slices.Clone(at.HardwareAddr), Up: up, Prefixes: ps})
	}
	slices.SortFunc(out, func(a, b LinkState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// couldCarry reports whether l would be usable if it were up with
// carrier.
func couldCarry(l netlink.Link, byIndex map[int]netlink.Link) bool {
	at := *l.Attrs()
	at.Flags |= net.FlagUp
	at.RawFlags |= unix.IFF_LOWER_UP
	if stateReason(&at) != "" {
		return false
	}
	if m, ok := byIndex[at.MasterIndex]; at.MasterIndex != 0 && (!ok || aggregatingMasters[m.Type()]) {
		return false
	}
	return true
}

func comparePrefixes(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}
