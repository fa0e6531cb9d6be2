package bgp

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// route is what one session announces for one prefix: the merge of every
// advertisement of that prefix selecting the session.
type route struct {
	communities []bgpmodel.Community // sorted, without duplicates
	localPref   uint32               // 0 = not sent (GoBGP adds the default 100 on iBGP)
}

func (r route) equal(o route) bool {
	return r.localPref == o.localPref && slices.Equal(r.communities, o.communities)
}

// merge combines two advertisements of the same prefix to the same peer.
// A session carries one path per prefix (no ADD-PATH towards routers), so
// the advertisements cannot each have their own path: communities are the
// union, as MetalLB's FRR mode does by adding them with "additive"; the
// highest LOCAL_PREF wins, the one that makes the route most preferred, so
// adding an advertisement never demotes a route another one asked for.
func (r route) merge(ad bgpmodel.Advertisement) route {
	out := route{localPref: max(r.localPref, ad.LocalPref)}
	out.communities = append(slices.Clone(r.communities), ad.Communities...)
	slices.SortFunc(out.communities, func(a, b bgpmodel.Community) int {
		switch {
		case a.Less(b):
			return -1
		case b.Less(a):
			return 1
		}
		return 0
	})
	out.communities = slices.Compact(out.communities)
	return out
}

// routeTable is one session's announced prefixes.
type routeTable map[netip.Prefix]route

// planRoutes works out, for every session, the prefixes it announces and
// their attributes. An advertisement applies to the sessions it names (all
// when it names none) that carry its prefix's family. It is refused for a
// session carry its LocalPref only when the session is iBGP: eBGP peers
// still get the route, without LOCAL_PREF (RFC 4271 §5.1.5 keeps that
// attribute inside the AS), as MetalLB does. An advertisement is refused
// entirely when its prefix is invalid.
func planRoutes(sessions map[string]sessionConfig, ads []bgpmodel.Advertisement) (map[string]routeTable, AdvertisementErrors) {
	plan := make(map[string]routeTable, len(sessions))
	for name := range sessions {
		plan[name] = routeTable{}
	}
	all := make([]string, 0, len(sessions))
	for name := range sessions {
		all = append(all, name)
	}
	slices.Sort(all)

	errs := AdvertisementErrors{}
	for _, ad := range ads {
		if !ad.Prefix.IsValid() || ad.Prefix != ad.Prefix.Masked() || ad.Prefix.Addr().Is4In6() || ad.Prefix.Addr().Zone() != "" {
			errs[ad.Name] = fmt.Errorf("%w: prefix %v is not a valid masked IPv4 or IPv6 prefix", ErrInvalidAdvert, ad.Prefix)
			continue
		}
		targets := all
		if len(ad.Peers) > 0 {
			targets = nil
			for _, name := range ad.Peers {
				if _, ok := sessions[name]; ok && !slices.Contains(targets, name) {
					targets = append(targets, name)
				}
			}
			slices.Sort(targets)
		}
		fam := familyOf(ad.Prefix.Addr())
		external := ad
		external.LocalPref = 0
		for _, name := range targets {
			s := sessions[name]
			if !s.carries(fam) {
				continue
			}
			if s.internal {
				plan[name][ad.Prefix] = plan[name][ad.Prefix].merge(ad)
			} else {
				plan[name][ad.Prefix] = plan[name][ad.Prefix].merge(external)
			}
		}
	}
	if len(errs) == 0 {
		errs = nil
	}
	return plan, errs
}

// diffRoutes lists what turns the announced table old into want: prefixes
// to announce (new or with changed attributes; re-announcing replaces the
// path in place, an implicit withdraw in BGP terms) and prefixes to
// withdraw. Both are sorted so updates go out in a stable order.
func diffRoutes(old, want routeTable) (announce, withdraw []netip.Prefix) {
	for p, r := range want {
		if o, ok := old[p]; !ok || !o.equal(r) {
			announce = append(announce, p)
		}
	}
	for p := range old {
		if _, ok := want[p]; !ok {
			withdraw = append(withdraw, p)
		}
	}
	slices.SortFunc(announce, comparePrefix)
	slices.SortFunc(withdraw, comparePrefix)
	return announce, withdraw
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// withoutBFD is p without its BFD profile: a BFD change alone is applied
// to the running BFD session and never restarts the BGP session.
func withoutBFD(p bgpmodel.Peer) bgpmodel.Peer {
	p.BFD = bgpmodel.BFDProfile{}
	return p
}

// diffPeers splits peer names into sessions to start, to restart because
// their configuration changed, and to stop. Unchanged peers (BFD profile
// aside) are in none of the lists, so their sessions are never touched.
func diffPeers(running map[string]bgpmodel.Peer, want map[string]sessionConfig) (add, change, remove []string) {
	for name, c := range want {
		old, ok := running[name]
		switch {
		case !ok:
			add = append(add, name)
		case withoutBFD(old) != withoutBFD(c.Peer):
			change = append(change, name)
		}
	}
	for name := range running {
		if _, ok := want[name]; !ok {
			remove = append(remove, name)
		}
	}
	slices.Sort(add)
	slices.Sort(change)
	slices.Sort(remove)
	return add, change, remove
}
