package allocator

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/barelb/barelb/internal/addr"
)

// Allocator tracks pools and which Service holds which IP. It is safe for
// concurrent use. The zero value is not usable; call New.
type Allocator struct {
	mu    sync.Mutex
	ps    *poolSet
	ips   map[netip.Addr]*ipState
	svcs  map[string]*assignment
	byKey map[string]map[netip.Addr]*ipState // sharing key -> IPs held under it
}

// assignment is what one Service holds.
type assignment struct {
	key     string
	ips     []netip.Addr
	sharing Sharing
}

// New returns an allocator with no pools.
func New() *Allocator {
	ps, _ := newPoolSet(nil)
	return &Allocator{
		ps:    ps,
		ips:   make(map[netip.Addr]*ipState),
		svcs:  make(map[string]*assignment),
		byKey: make(map[string]map[netip.Addr]*ipState),
	}
}

// SetPools replaces the configuration. Every existing assignment is kept,
// even when its IPs are in no pool any more (see OutOfPool); the next
// Assign for that Service moves it if the IPs no longer satisfy it.
// An invalid configuration (duplicate or empty names, negative priority,
// invalid or overlapping ranges) is rejected with ErrInvalidPools and the
// old one stays.
func (a *Allocator) SetPools(pools []Pool) error {
	ps, err := newPoolSet(pools)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, st := range a.ips {
		st.pool = ps.lookup(st.ip)
		if st.pool != nil {
			claim(st)
		}
	}
	a.ps = ps
	return nil
}

// Assign gives the Service req.Key its IPs. If it already holds IPs that
// still satisfy req (same pool allowed, families, requested IPs, sharing
// still compatible) it keeps them, so repeated calls return the same
// answer. Otherwise it releases them and allocates anew; if that fails
// the allocator is left exactly as before the call and the error says
// why (it wraps one of the Err* sentinels).
//
// A PreferDualStack Service that holds fewer families than it lists gets
// the missing ones added from the same pool when they are free, without
// moving the IP it has.
func (a *Allocator) Assign(req Request) (Result, error) {
	fams, err := req.normalize()
	if err != nil {
		return Result{}, err
	}
	req.Sharing = cloneSharing(req.Sharing)
	a.mu.Lock()
	defer a.mu.Unlock()
	if cur := a.svcs[req.Key]; cur != nil {
		if p := a.satisfied(cur, &req, fams); p != nil {
			a.updateSharing(cur, req.Sharing)
			if req.Policy == PreferDualStack && len(req.IPs) == 0 {
				a.extend(cur, p, &req, fams)
			}
			return Result{Pool: p.Name, IPs: orderIPs(cur.ips, fams)}, nil
		}
		old := *cur
		a.release(cur)
		res, err := a.allocate(&req, fams)
		if err != nil {
			a.record(old.key, old.ips, old.sharing)
			return Result{}, err
		}
		return res, nil
	}
	return a.allocate(&req, fams)
}

// Restore records an assignment found in Service status at start-up, even
// when no pool contains the IPs any more. It replaces whatever key held
// before. An IP already held by a Service it cannot share with is an error
// naming that Service (ErrInUse or ErrSharingConflict), and nothing changes.
func (a *Allocator) Restore(key string, ips []netip.Addr, sh Sharing) error {
	if key == "" {
		return fmt.Errorf("%w: empty service key", ErrInvalidRequest)
	}
	if len(ips) == 0 {
		return fmt.Errorf("%w: no IPs to restore for %s", ErrInvalidRequest, key)
	}
	if err := checkIPs(ips); err != nil {
		return err
	}
	sh = cloneSharing(sh)
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ip := range ips {
		if st := a.ips[ip]; st != nil {
			if err := st.conflict(key, sh); err != nil {
				return fmt.Errorf("cannot restore %s: %w", key, err)
			}
		}
	}
	if cur := a.svcs[key]; cur != nil {
		a.release(cur)
	}
	a.record(key, slices.Clone(ips), sh)
	return nil
}

// Release frees everything key holds; an IP shared with other Services
// stays with them. It reports whether key held anything.
func (a *Allocator) Release(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.svcs[key]
	if cur == nil {
		return false
	}
	a.release(cur)
	return true
}

// satisfied returns the pool of cur when cur still fulfils req, else nil.
func (a *Allocator) satisfied(cur *assignment, req *Request, fams []addr.Family) *pool {
	var p *pool
	for _, ip := range cur.ips {
		st := a.ips[ip]
		if st.pool == nil || (p != nil && st.pool != p) {
			return nil
		}
		p = st.pool
		if p.AvoidBuggyIPs && isBuggy(ip) {
			return nil
		}
		if st.conflict(req.Key, req.Sharing) != nil {
			return nil
		}
	}
	if p == nil || (req.Pool != "" && p.Name != req.Pool) || !req.allowed(p) {
		return nil
	}
	if len(req.IPs) > 0 {
		if len(req.IPs) != len(cur.ips) {
			return nil
		}
		for _, ip := range req.IPs {
			if !slices.Contains(cur.ips, ip) {
				return nil
			}
		}
		return p
	}
	for _, ip := range cur.ips {
		if !slices.Contains(fams, addr.FamilyOf(ip)) {
			return nil
		}
	}
	if req.Policy != PreferDualStack && len(cur.ips) != len(fams) {
		return nil
	}
	return p
}

// extend adds the families a PreferDualStack Service lacks, from its pool,
// when they are available; failing to is not an error.
func (a *Allocator) extend(cur *assignment, p *pool, req *Request, fams []addr.Family) {
	for _, f := range fams {
		if !p.has(f) || slices.ContainsFunc(cur.ips, func(ip netip.Addr) bool { return addr.FamilyOf(ip) == f }) {
			continue
		}
		if ip, ok := a.pick(p, f, req); ok {
			a.hold(cur.key, ip, cur.sharing)
			cur.ips = append(cur.ips, ip)
		}
	}
}

func (a *Allocator) allocate(req *Request, fams []addr.Family) (Result, error) {
	if len(req.IPs) > 0 {
		return a.allocateRequested(req)
	}
	cands, err := a.candidates(req)
	if err != nil {
		return Result{}, err
	}
	// PreferDualStack first looks for a pool that gives every family, and
	// only then settles for fewer; priority orders pools within each pass.
	passes := []bool{true}
	if req.Policy == PreferDualStack && len(fams) > 1 {
		passes = append(passes, false)
	}
	var why []string
	exhausted := false
	for _, all := range passes {
		why, exhausted = why[:0], false
		for _, p := range cands {
			ips, missing, full := a.pickFrom(p, fams, all, req)
			if ips != nil {
				a.record(req.Key, ips, req.Sharing)
				return Result{Pool: p.Name, IPs: slices.Clone(ips)}, nil
			}
			if len(full) > 0 {
				exhausted = true
				why = append(why, fmt.Sprintf("pool %q has no free %s address", p.Name, famList(full)))
			}
			if len(missing) > 0 {
				why = append(why, fmt.Sprintf("pool %q has no %s range", p.Name, famList(missing)))
			}
		}
	}
	sentinel := ErrFamilyNotAvailable
	if exhausted {
		sentinel = ErrExhausted
	}
	return Result{}, fmt.Errorf("%w for %v %s: %s", sentinel, req.Policy, famList(fams), strings.Join(why, "; "))
}

// candidates lists the pools automatic allocation may use, in order.
func (a *Allocator) candidates(req *Request) ([]*pool, error) {
	if req.Pool != "" {
		p := a.ps.byName[req.Pool]
		if p == nil {
			return nil, fmt.Errorf("%w %q", ErrUnknownPool, req.Pool)
		}
		if !req.allowed(p) {
			return nil, fmt.Errorf("%w: pool %q does not select this service", ErrNoPoolAllowed, p.Name)
		}
		return []*pool{p}, nil
	}
	var out []*pool
	for _, p := range a.ps.order {
		if p.AutoAssign && req.allowed(p) {
			out = append(out, p)
		}
	}
	if len(out) > 0 {
		// Restricted pools that admit the Service first (MetalLB's pinned
		// pools); each group keeps priority and name order.
		slices.SortStableFunc(out, func(x, y *pool) int {
			switch {
			case x.Restricted == y.Restricted:
				return 0
			case x.Restricted:
				return -1
			}
			return 1
		})
		return out, nil
	}
	if len(a.ps.order) == 0 {
		return nil, fmt.Errorf("%w: no address pools are configured", ErrNoPoolAllowed)
	}
	// No candidate: name the pools, for the error only (with many pools,
	// collecting the names for every Service cost more than choosing).
	var manual, unselected []string
	for _, p := range a.ps.order {
		if p.AutoAssign {
			unselected = append(unselected, p.Name)
		} else {
			manual = append(manual, p.Name)
		}
	}
	var why []string
	if len(unselected) > 0 {
		why = append(why, fmt.Sprintf("pools %s do not select this service", quoteList(unselected)))
	}
	if len(manual) > 0 {
		why = append(why, fmt.Sprintf("pools %s have autoAssign off (request an IP or name the pool)", quoteList(manual)))
	}
	return nil, fmt.Errorf("%w: %s", ErrNoPoolAllowed, strings.Join(why, "; "))
}

// pickFrom chooses one IP per family from p without taking them. With all
// set it gives every family or nothing; otherwise whatever it can.
func (a *Allocator) pickFrom(p *pool, fams []addr.Family, all bool, req *Request) (ips []netip.Addr, missing, full []addr.Family) {
	for _, f := range fams {
		if !p.has(f) {
			missing = append(missing, f)
			continue
		}
		ip, ok := a.pick(p, f, req)
		if !ok {
			full = append(full, f)
			continue
		}
		ips = append(ips, ip)
	}
	if len(ips) == 0 || (all && len(ips) != len(fams)) {
		return nil, missing, full
	}
	return ips, missing, full
}

// pick chooses an IP of family f in p: the lowest IP already held under
// req's sharing key that req can join, else the lowest free one.
// Joining a compatible group first is what the sharing key asks for.
func (a *Allocator) pick(p *pool, f addr.Family, req *Request) (netip.Addr, bool) {
	if req.Sharing.Key != "" {
		var best netip.Addr
		for ip, st := range a.byKey[req.Sharing.Key] {
			if st.pool != p || addr.FamilyOf(ip) != f || (p.AvoidBuggyIPs && isBuggy(ip)) ||
				(best.IsValid() && best.Less(ip)) || st.conflict(req.Key, req.Sharing) != nil {
				continue
			}
			best = ip
		}
		if best.IsValid() {
			return best, true
		}
	}
	return p.free[famIndex(f)].Min()
}

// allocateRequested assigns explicitly requested IPs.
func (a *Allocator) allocateRequested(req *Request) (Result, error) {
	var p *pool
	var first netip.Addr
	for _, ip := range req.IPs {
		q := a.ps.lookup(ip)
		switch {
		case q == nil:
			return Result{}, fmt.Errorf("%w: %s", ErrNotInPool, ip)
		case q.AvoidBuggyIPs && isBuggy(ip):
			return Result{}, fmt.Errorf("%w: %s is in pool %q, which has avoidBuggyIPs set and never hands out addresses ending in .0 or .255", ErrNotInPool, ip, q.Name)
		case p != nil && q != p:
			return Result{}, fmt.Errorf("%w: %s is in pool %q but %s is in pool %q", ErrIPsSpanPools, first, p.Name, ip, q.Name)
		}
		p, first = q, ip
	}
	if req.Pool != "" {
		if a.ps.byName[req.Pool] == nil {
			return Result{}, fmt.Errorf("%w %q", ErrUnknownPool, req.Pool)
		}
		if p.Name != req.Pool {
			return Result{}, fmt.Errorf("%w: %s is in pool %q, not in the requested pool %q", ErrNotInPool, first, p.Name, req.Pool)
		}
	}
	if !req.allowed(p) {
		return Result{}, fmt.Errorf("%w: pool %q (of requested IP %s) does not select this service", ErrNoPoolAllowed, p.Name, first)
	}
	for _, ip := range req.IPs {
		if st := a.ips[ip]; st != nil {
			if err := st.conflict(req.Key, req.Sharing); err != nil {
				return Result{}, err
			}
		}
	}
	ips := slices.Clone(req.IPs)
	a.record(req.Key, ips, req.Sharing)
	return Result{Pool: p.Name, IPs: slices.Clone(ips)}, nil
}

// record makes key hold ips. The caller has checked sharing.
func (a *Allocator) record(key string, ips []netip.Addr, sh Sharing) {
	for _, ip := range ips {
		a.hold(key, ip, sh)
	}
	a.svcs[key] = &assignment{key: key, ips: ips, sharing: sh}
}

func (a *Allocator) release(cur *assignment) {
	for _, ip := range cur.ips {
		a.unhold(cur.key, ip, cur.sharing)
	}
	delete(a.svcs, cur.key)
}

func (a *Allocator) hold(key string, ip netip.Addr, sh Sharing) {
	st := a.ips[ip]
	if st == nil {
		st = &ipState{ip: ip, pool: a.ps.lookup(ip), key: sh.Key, compat: sh.Compat}
		a.ips[ip] = st
		if st.pool != nil {
			claim(st)
		}
		a.indexKey(st)
	}
	st.addHolder(key, sh)
}

func (a *Allocator) unhold(key string, ip netip.Addr, sh Sharing) {
	st := a.ips[ip]
	st.removeHolder(key, sh)
	if len(st.holders) > 0 {
		return
	}
	if p := st.pool; p != nil {
		fi := famIndex(addr.FamilyOf(ip))
		p.free[fi].Give(ip)
		p.assigned[fi]--
	}
	a.unindexKey(st)
	delete(a.ips, ip)
}

// claim takes st's IP out of its pool's free space.
func claim(st *ipState) {
	fi := famIndex(addr.FamilyOf(st.ip))
	st.pool.free[fi].Take(st.ip) // false for an avoided .0/.255 restored from status
	st.pool.assigned[fi]++
}

// updateSharing replaces the sharing info cur was admitted with. The
// caller has checked that the new info is compatible with co-holders.
func (a *Allocator) updateSharing(cur *assignment, sh Sharing) {
	for _, ip := range cur.ips {
		st := a.ips[ip]
		st.removeHolder(cur.key, cur.sharing)
		if len(st.holders) == 0 && (st.key != sh.Key || st.compat != sh.Compat) {
			a.unindexKey(st)
			st.key, st.compat = sh.Key, sh.Compat
			a.indexKey(st)
		}
		st.addHolder(cur.key, sh)
	}
	cur.sharing = sh
}

func (a *Allocator) indexKey(st *ipState) {
	if st.key == "" {
		return
	}
	m := a.byKey[st.key]
	if m == nil {
		m = make(map[netip.Addr]*ipState)
		a.byKey[st.key] = m
	}
	m[st.ip] = st
}

func (a *Allocator) unindexKey(st *ipState) {
	if m := a.byKey[st.key]; m != nil {
		delete(m, st.ip)
		if len(m) == 0 {
			delete(a.byKey, st.key)
		}
	}
}

func cloneSharing(sh Sharing) Sharing {
	sh.Ports = slices.Clone(sh.Ports)
	return sh
}

func famList(fams []addr.Family) string {
	s := make([]string, len(fams))
	for i, f := range fams {
		s[i] = f.String()
	}
	return strings.Join(s, "+")
}

func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
