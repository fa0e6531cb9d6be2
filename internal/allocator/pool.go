package allocator

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/barelb/barelb/internal/addr"
)

// Pool is one IPAddressPool as the allocator sees it.
type Pool struct {
	// Name is the IPAddressPool name; Services name it in the
	// metallb.io/address-pool annotation and Results report it.
	Name string
	// Ranges may mix IPv4 and IPv6: a pool with both can give a Service a
	// dual-stack pair. Ranges must not overlap, within or across pools.
	Ranges []addr.Range
	// AutoAssign lets Services without a requested IP or pool name get an
	// address from this pool.
	AutoAssign bool
	// AvoidBuggyIPs never hands out IPv4 addresses ending in .0 or .255.
	AvoidBuggyIPs bool
	// Priority orders automatic allocation: a lower positive number is
	// tried first, 0 means no priority (after every prioritised pool), and
	// ties go by Name so the choice is deterministic.
	Priority int
	// Restricted marks a pool whose serviceAllocation limits the Services
	// it serves (namespaces, namespaceSelectors or serviceSelectors). As in
	// MetalLB, a restricted pool that admits a Service is tried before
	// every unrestricted one, whatever their priorities: a tenant's pool
	// wins over the open default pool.
	Restricted bool
}

// pool is a Pool with its free space and counters.
type pool struct {
	Pool
	free     [2]*freeSet // by famIndex; nil when the pool has no range of that family
	total    [2]count    // usable addresses, by famIndex
	assigned [2]uint64   // distinct held IPs inside the pool, by famIndex
}

func famIndex(f addr.Family) int {
	if f == addr.IPv6 {
		return 1
	}
	return 0
}

var families = [2]addr.Family{addr.IPv4, addr.IPv6}

func (p *pool) has(f addr.Family) bool { return p.free[famIndex(f)] != nil }

// lessPriority orders pools for automatic allocation.
func lessPriority(a, b *pool) int {
	pa, pb := a.Priority, b.Priority
	if (pa == 0) != (pb == 0) {
		if pa == 0 {
			return 1
		}
		return -1
	}
	if c := cmp.Compare(pa, pb); c != 0 {
		return c
	}
	return cmp.Compare(a.Name, b.Name)
}

// indexEntry maps one range to its pool, for finding the pool of an IP.
type indexEntry struct {
	r addr.Range
	p *pool
}

// poolSet is a validated configuration: pools by name, in priority order,
// and a sorted range index.
type poolSet struct {
	byName map[string]*pool
	order  []*pool
	index  []indexEntry // sorted by First; ranges do not overlap
}

// lookup returns the pool whose ranges contain ip, or nil. O(log R).
func (ps *poolSet) lookup(ip netip.Addr) *pool {
	i, found := slices.BinarySearchFunc(ps.index, ip, func(e indexEntry, ip netip.Addr) int {
		return e.r.First.Compare(ip)
	})
	if !found {
		i-- // the last range starting before ip
	}
	if i < 0 || !ps.index[i].r.Contains(ip) {
		return nil
	}
	return ps.index[i].p
}

// newPoolSet validates pools and builds their free space with nothing held.
func newPoolSet(pools []Pool) (*poolSet, error) {
	ps := &poolSet{byName: make(map[string]*pool, len(pools))}
	for _, in := range pools {
		if in.Name == "" {
			return nil, fmt.Errorf("%w: a pool has no name", ErrInvalidPools)
		}
		if _, dup := ps.byName[in.Name]; dup {
			return nil, fmt.Errorf("%w: two pools are named %q", ErrInvalidPools, in.Name)
		}
		if in.Priority < 0 {
			return nil, fmt.Errorf("%w: pool %q has negative priority %d", ErrInvalidPools, in.Name, in.Priority)
		}
		p := &pool{Pool: in}
		p.Ranges = slices.Clone(in.Ranges)
		for _, r := range p.Ranges {
			if !r.IsValid() || r.First.Is4In6() || r.Last.Is4In6() {
				return nil, fmt.Errorf("%w: pool %q has invalid range %v", ErrInvalidPools, in.Name, r)
			}
			ps.index = append(ps.index, indexEntry{r, p})
		}
		ps.byName[in.Name] = p
		ps.order = append(ps.order, p)
	}
	slices.SortFunc(ps.index, func(a, b indexEntry) int { return a.r.Compare(b.r) })
	for i := 1; i < len(ps.index); i++ {
		prev, cur := ps.index[i-1], ps.index[i]
		if prev.r.Overlaps(cur.r) {
			if prev.p == cur.p {
				return nil, fmt.Errorf("%w: pool %q has overlapping ranges %v and %v", ErrInvalidPools, cur.p.Name, prev.r, cur.r)
			}
			return nil, fmt.Errorf("%w: pools %q (%v) and %q (%v) overlap", ErrInvalidPools, prev.p.Name, prev.r, cur.p.Name, cur.r)
		}
	}
	// Ranges are added in address order, so adjacent ones merge into one
	// interval.
	for _, e := range ps.index {
		p, fi := e.p, famIndex(e.r.Family())
		if p.free[fi] == nil {
			p.free[fi] = newFreeSet(p.AvoidBuggyIPs && e.r.Family() == addr.IPv4)
		}
		before := p.free[fi].free
		p.free[fi].Add(e.r.First, e.r.Last)
		p.total[fi] = p.total[fi].add(p.free[fi].free.sub(before))
	}
	slices.SortFunc(ps.order, lessPriority)
	return ps, nil
}
