package allocator

import "net/netip"

// freeSet is the free space of one family of one pool: disjoint, maximal
// intervals of free addresses kept in a treap keyed by their first
// address. Handing out the lowest free address only moves the start of
// the leftmost interval, so sequential allocation keeps a single interval
// however many addresses are taken; releases split nothing and merge with
// their neighbours.
//
// With skipBuggy (avoidBuggyIPs on an IPv4 set), addresses ending in .0 or
// .255 are never handed out: intervals are trimmed so they never start or
// end on one, the walk from one address to the next steps over them, and
// two intervals separated only by such addresses count as adjacent and are
// merged. Buggy addresses inside an interval are not counted as free.
//
// Every operation is O(log I) expected, I being the number of intervals.
type freeSet struct {
	root      *node
	skipBuggy bool
	free      count // usable free addresses
	intervals int
	seed      uint64 // xorshift state for treap priorities; fixed, so runs are reproducible
}

type node struct {
	first, last netip.Addr
	prio        uint64
	left, right *node
}

func newFreeSet(skipBuggy bool) *freeSet {
	return &freeSet{skipBuggy: skipBuggy, seed: 0x9e3779b97f4a7c15}
}

func (s *freeSet) rand() uint64 {
	x := s.seed
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	s.seed = x
	return x
}

func (s *freeSet) buggy(a netip.Addr) bool { return s.skipBuggy && isBuggy(a) }

// next returns the first usable address after a.
func (s *freeSet) next(a netip.Addr) (netip.Addr, bool) {
	for {
		a = a.Next()
		if !a.IsValid() {
			return a, false
		}
		if !s.buggy(a) {
			return a, true
		}
	}
}

// prev returns the last usable address before a.
func (s *freeSet) prev(a netip.Addr) (netip.Addr, bool) {
	for {
		a = a.Prev()
		if !a.IsValid() {
			return a, false
		}
		if !s.buggy(a) {
			return a, true
		}
	}
}

// usable counts the addresses of [first, last] that may be handed out.
func (s *freeSet) usable(first, last netip.Addr) count {
	c := span(first, last)
	if s.skipBuggy {
		c = c.sub(count{lo: buggyIn(first, last)})
	}
	return c
}

// Min returns the lowest free address.
func (s *freeSet) Min() (netip.Addr, bool) {
	t := s.root
	if t == nil {
		return netip.Addr{}, false
	}
	for t.left != nil {
		t = t.left
	}
	return t.first, true
}

// neighbours returns the interval starting at or before a (floor) and the
// first interval starting after a (ceil).
func (s *freeSet) neighbours(a netip.Addr) (floor, ceil *node) {
	for t := s.root; t != nil; {
		if t.first.Compare(a) <= 0 {
			floor, t = t, t.right
		} else {
			ceil, t = t, t.left
		}
	}
	return floor, ceil
}

// Contains reports whether a is free and usable.
func (s *freeSet) Contains(a netip.Addr) bool {
	if s.buggy(a) {
		return false
	}
	f, _ := s.neighbours(a)
	return f != nil && a.Compare(f.last) <= 0
}

// Add makes [first, last] free. It must not overlap free space already in
// the set; adjacent intervals are merged.
func (s *freeSet) Add(first, last netip.Addr) {
	for s.buggy(first) && first.Compare(last) < 0 {
		first = first.Next()
	}
	for s.buggy(last) && first.Compare(last) < 0 {
		last = last.Prev()
	}
	if s.buggy(first) { // the whole interval was buggy addresses
		return
	}
	s.free = s.free.add(s.usable(first, last))
	floor, ceil := s.neighbours(first)
	joinLeft := floor != nil && s.adjacent(floor.last, first)
	joinRight := ceil != nil && s.adjacent(last, ceil.first)
	switch {
	case joinLeft && joinRight:
		floor.last = ceil.last
		s.delete(ceil.first)
	case joinLeft:
		floor.last = last
	case joinRight:
		// Moving ceil's key down to first keeps the order: every other
		// interval ends before first.
		ceil.first = first
	default:
		s.insert(&node{first: first, last: last, prio: s.rand()})
	}
}

// adjacent reports whether b follows a with only unusable addresses between.
func (s *freeSet) adjacent(a, b netip.Addr) bool {
	n, ok := s.next(a)
	return ok && n == b
}

// Give returns a single address to the set; false if it was already free
// or is never handed out (buggy).
func (s *freeSet) Give(a netip.Addr) bool {
	if s.buggy(a) || s.Contains(a) {
		return false
	}
	s.Add(a, a)
	return true
}

// Take removes a single free address; false if it was not free.
func (s *freeSet) Take(a netip.Addr) bool {
	if s.buggy(a) {
		return false
	}
	n, _ := s.neighbours(a)
	if n == nil || a.Compare(n.last) > 0 {
		return false
	}
	s.free = s.free.sub(count{lo: 1})
	switch {
	case a == n.first && a == n.last:
		s.delete(a)
	case a == n.first:
		// n.last is usable and after a, so next(a) <= n.last; raising the
		// key within the interval keeps the order.
		n.first, _ = s.next(a)
	case a == n.last:
		n.last, _ = s.prev(a)
	default:
		rest := &node{last: n.last, prio: s.rand()}
		rest.first, _ = s.next(a)
		n.last, _ = s.prev(a)
		s.insert(rest)
	}
	return true
}

func (s *freeSet) insert(n *node) {
	l, r := split(s.root, n.first)
	s.root = merge(merge(l, n), r)
	s.intervals++
}

func (s *freeSet) delete(first netip.Addr) {
	s.root = remove(s.root, first)
	s.intervals--
}

// split cuts t into the intervals starting before key and the rest.
func split(t *node, key netip.Addr) (l, r *node) {
	if t == nil {
		return nil, nil
	}
	if t.first.Less(key) {
		t.right, r = split(t.right, key)
		return t, r
	}
	l, t.left = split(t.left, key)
	return l, t
}

// merge joins two treaps, every key of l below every key of r.
func merge(l, r *node) *node {
	switch {
	case l == nil:
		return r
	case r == nil:
		return l
	case l.prio > r.prio:
		l.right = merge(l.right, r)
		return l
	default:
		r.left = merge(l, r.left)
		return r
	}
}

func remove(t *node, key netip.Addr) *node {
	if t == nil {
		return nil
	}
	switch c := key.Compare(t.first); {
	case c < 0:
		t.left = remove(t.left, key)
	case c > 0:
		t.right = remove(t.right, key)
	default:
		return merge(t.left, t.right)
	}
	return t
}

// walk calls fn for every interval in address order (tests and debugging).
func (s *freeSet) walk(fn func(first, last netip.Addr)) {
	var rec func(*node)
	rec = func(t *node) {
		if t == nil {
			return
		}
		rec(t.left)
		fn(t.first, t.last)
		rec(t.right)
	}
	rec(s.root)
}
