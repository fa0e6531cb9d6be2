package explain

import (
	"fmt"
	"sort"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/lbspec"
)

// PoolReport is one line of `pools`.
type PoolReport struct {
	Name       string   `json:"name"`
	AutoAssign bool     `json:"autoAssign"`
	IPv4Used   uint64   `json:"ipv4Used"`
	IPv4Free   uint64   `json:"ipv4Free"`
	IPv6Used   uint64   `json:"ipv6Used"`
	IPv6Free   uint64   `json:"ipv6Free"`
	Services   []string `json:"services,omitempty"`
	// Problems say why the pool is invalid (overlaps included); an
	// invalid pool serves no Service.
	Problems []string `json:"problems,omitempty"`
}

// Pools reports every IPAddressPool, valid or not, sorted by name.
func Pools(c *Cluster) []PoolReport {
	m := c.model()
	users := map[string][]string{}
	for i := range c.Services {
		svc := &c.Services[i]
		if !lbspec.Handles(svc, c.LBClass) {
			continue
		}
		seen := map[string]bool{}
		for _, ip := range lbspec.IngressIPs(svc) {
			if p := m.poolOf(ip); p != "" && !seen[p] {
				seen[p] = true
				users[p] = append(users[p], lbspec.Key(svc))
			}
		}
	}
	var out []PoolReport
	for _, o := range c.Pools {
		r := PoolReport{Name: o.Name, Services: users[o.Name], Problems: m.problems.For(config.KindPool, o.Name)}
		sort.Strings(r.Services)
		if p := m.cfg.Pools[o.Name]; p != nil {
			r.AutoAssign = p.AutoAssign
			if st, ok := m.alloc.PoolStats(o.Name); ok {
				r.IPv4Used, r.IPv4Free = st.IPv4.Assigned, st.IPv4.Available
				r.IPv6Used, r.IPv6Free = st.IPv6.Assigned, st.IPv6.Available
			}
		} else if len(r.Problems) == 0 {
			r.Problems = []string{"not loaded (no problem recorded)"}
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// free prints a free count; /64 pools have more than anyone needs.
func free(n uint64) string {
	if n >= 1<<62 {
		return "many"
	}
	return fmt.Sprint(n)
}
