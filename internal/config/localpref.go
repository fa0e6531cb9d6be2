package config

import (
	"slices"
	"sort"
)

// localPrefConflicts warns, on both objects, about two BGPAdvertisements
// that announce the same prefixes (a common pool, the same aggregation
// lengths, no serviceSelectors) towards a common peer with different
// localPref. MetalLB refuses the configuration; barelb keeps both and
// sends the highest value (internal/bgp merges the advertisements of one
// prefix into one path), so the warning says which one wins. With
// serviceSelectors the overlap depends on the Services, and
// internal/bgpplan reports it per prefix instead. Cost: O(advertisements²
// × pools).
func localPrefConflicts(advs []*BGPAdvertisement, ps *Problems) {
	for i, a := range advs {
		for _, b := range advs[i+1:] {
			if a.LocalPref == b.LocalPref || len(a.ServiceSelectors) > 0 || len(b.ServiceSelectors) > 0 ||
				a.AggregationLength != b.AggregationLength || a.AggregationLengthV6 != b.AggregationLengthV6 ||
				!sharePeer(a.Peers, b.Peers) {
				continue
			}
			var pools []string
			for p := range a.Pools {
				if b.Pools[p] {
					pools = append(pools, p)
				}
			}
			if len(pools) == 0 {
				continue
			}
			sort.Strings(pools)
			win := max(a.LocalPref, b.LocalPref)
			for _, pair := range [][2]*BGPAdvertisement{{a, b}, {b, a}} {
				ps.warn(KindBGPAdv, pair[0].Name, "gives the prefixes of IPAddressPool %q localPref %d, and BGPAdvertisement %q gives them %d towards the same peers: the highest, %d, is sent",
					pools[0], pair[0].LocalPref, pair[1].Name, pair[1].LocalPref, win)
			}
		}
	}
}

// sharePeer reports whether two peers lists (empty: every peer) can name
// the same peer.
func sharePeer(a, b []string) bool {
	if len(a) == 0 || len(b) == 0 {
		return true
	}
	return slices.ContainsFunc(a, func(p string) bool { return slices.Contains(b, p) })
}
