package bgpplan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/config"
)

// insidePool reports whether every address of prefix lies in one range of
// the pool: barelb never announces addresses it does not own. config.Build
// already refuses aggregation lengths that would break this; this is the
// last line for a model built some other way.
func insidePool(p *config.Pool, prefix netip.Prefix) bool {
	if p == nil {
		return false
	}
	r := addr.PrefixRange(prefix)
	for _, pr := range p.Ranges {
		if pr.Contains(r.First) && pr.Contains(r.Last) {
			return true
		}
	}
	return false
}

// localPrefConflicts reports pairs of BGPAdvertisements that give one
// prefix different localPref values towards the same iBGP peer (eBGP peers
// get no LOCAL_PREF, so they cannot disagree). The route carries the
// highest value (internal/bgp's merge); the problem says so. One problem
// per pair of BGPAdvertisements, naming the first prefix and peers found.
// Cost: O(prefixes × advertisements per prefix² × peers).
func localPrefConflicts(ads []bgpmodel.Advertisement, from map[string]string, running map[string]bgpmodel.Peer) []string {
	byPrefix := map[netip.Prefix][]bgpmodel.Advertisement{}
	var order []netip.Prefix
	for _, a := range ads {
		if _, ok := byPrefix[a.Prefix]; !ok {
			order = append(order, a.Prefix)
		}
		byPrefix[a.Prefix] = append(byPrefix[a.Prefix], a)
	}
	seen := map[[2]string]bool{}
	var out []string
	for _, prefix := range order {
		list := byPrefix[prefix]
		for i := range list {
			for j := i + 1; j < len(list); j++ {
				a, b := list[i], list[j]
				pair := [2]string{from[a.Name], from[b.Name]}
				if a.LocalPref == b.LocalPref || pair[0] == pair[1] || seen[pair] {
					continue
				}
				var peers []string
				for name, pr := range running {
					if pr.Internal() && pr.Receives(a) && pr.Receives(b) {
						peers = append(peers, name)
					}
				}
				if len(peers) == 0 {
					continue
				}
				seen[pair] = true
				slices.Sort(peers)
				out = append(out, fmt.Sprintf("BGPAdvertisements %q and %q give %s different localPref (%d and %d) towards peer(s) %s: the highest, %d, is sent",
					pair[0], pair[1], prefix, a.LocalPref, b.LocalPref, strings.Join(peers, ", "), max(a.LocalPref, b.LocalPref)))
			}
		}
	}
	return out
}
