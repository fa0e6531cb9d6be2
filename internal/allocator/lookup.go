package allocator

import (
	"cmp"
	"net/netip"
	"slices"
)

// Assignment returns what key holds. Result.Pool is empty when the IPs are
// in no pool (or in different pools) under the current configuration.
func (a *Allocator) Assignment(key string) (Result, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.svcs[key]
	if cur == nil {
		return Result{}, false
	}
	return Result{Pool: a.poolName(cur), IPs: slices.Clone(cur.ips)}, true
}

func (a *Allocator) poolName(cur *assignment) string {
	var p *pool
	for _, ip := range cur.ips {
		st := a.ips[ip]
		if st.pool == nil || (p != nil && st.pool != p) {
			return ""
		}
		p = st.pool
	}
	if p == nil {
		return ""
	}
	return p.Name
}

// Owners returns the keys of the Services holding ip, sorted; more than
// one when the IP is shared.
func (a *Allocator) Owners(ip netip.Addr) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if st := a.ips[ip]; st != nil {
		return slices.Clone(st.holders)
	}
	return nil
}

// FamilyStats counts the addresses of one family in one pool. Numbers
// saturate at math.MaxUint64 (an IPv6 /64 or larger).
type FamilyStats struct {
	// Total is the number of addresses the pool can hand out (without
	// .0/.255 when avoidBuggyIPs is set).
	Total uint64
	// Assigned is the number of distinct IPs held (a shared IP counts
	// once). It can include a restored .0/.255 address that the pool
	// would no longer hand out, which Total does not count.
	Assigned uint64
	// Available is the number of free addresses the pool can still hand out.
	Available uint64
}

// PoolStats is the usage of one pool, for IPAddressPool status and metrics.
type PoolStats struct {
	Name string
	IPv4 FamilyStats
	IPv6 FamilyStats
}

// Stats returns the usage of every pool, in allocation order.
func (a *Allocator) Stats() []PoolStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]PoolStats, len(a.ps.order))
	for i, p := range a.ps.order {
		out[i] = p.stats()
	}
	return out
}

// PoolStats returns the usage of the named pool.
func (a *Allocator) PoolStats(name string) (PoolStats, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.ps.byName[name]
	if p == nil {
		return PoolStats{}, false
	}
	return p.stats(), true
}

func (p *pool) stats() PoolStats {
	s := PoolStats{Name: p.Name}
	for fi, fs := range []*FamilyStats{&s.IPv4, &s.IPv6} {
		fs.Total = p.total[fi].uint64()
		fs.Assigned = p.assigned[fi]
		if p.free[fi] != nil {
			fs.Available = p.free[fi].free.uint64()
		}
	}
	return s
}

// Held is one IP held by one Service.
type Held struct {
	Key string
	IP  netip.Addr
}

// OutOfPool lists the held IPs that no configured pool contains, sorted by
// key then IP: assignments restored from status or kept across a
// configuration change, waiting for the Service's next Assign to move them.
func (a *Allocator) OutOfPool() []Held {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Held
	for ip, st := range a.ips {
		if st.pool == nil {
			for _, k := range st.holders {
				out = append(out, Held{Key: k, IP: ip})
			}
		}
	}
	slices.SortFunc(out, func(x, y Held) int {
		if c := cmp.Compare(x.Key, y.Key); c != 0 {
			return c
		}
		return x.IP.Compare(y.IP)
	})
	return out
}
