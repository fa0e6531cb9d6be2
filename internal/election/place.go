package election

import (
	"cmp"
	"slices"
)

// Placement.
//
// Place is a greedy pass: units in placement order, each on its
// best-ranked candidate below its capacity (or, every candidate full, on
// the least loaded). A unit's choice depends only on the units before it,
// and only through its ranked candidates (its top cache): whether each is
// full where the unit is placed, that is whether the number of units it
// won before the unit reaches its capacity, and, for a unit placed on its
// least loaded candidate, those numbers themselves. So the placement is
// kept between calls: each node lists the units it won (won) and the
// units whose top holds it (watchers), both in placement order, and a
// change elects again only the units it can reach:
//
//   - a unit added, changed or whose top changed (a group gaining a node
//     it ranks, or losing one it ranked) is dirty;
//   - a unit leaving a node's won list (deleted, moved, elected
//     elsewhere) or joining it changes, for the watchers after it, the
//     count of the node's units before them by one: those whose count
//     crosses the capacity (a window of the won list) are dirty, and so
//     are the node's watchers placed on their least loaded candidate
//     (over);
//   - a node whose capacity changed (a node or a unit more or less moves
//     the capacities of about units/nodes nodes) makes dirty its
//     watchers whose count lies between the old and new capacity.
//
// Dirty units are elected again in placement order (a heap), and each
// change of winner marks what it reaches in turn, after it, so every unit
// before the one being elected is final: the result is the full pass's.
// A group's change of size can make units swap places in the order
// (their candidate counts cross): when the nodes' lists are still in order
// under the new counts (the units that swapped rank no node in common,
// say racks of one size), only the order is sorted again; otherwise, and
// when changes reach more than a fraction of the units, Place falls back
// to the full pass (Stats counts both).

// Stats counts an Election's placements since New.
type Stats struct {
	// Full is the number of Places that elected every unit (the first,
	// after the placement order changed, or past a fraction of the units
	// reached); Incremental those that elected only what changes reached,
	// Elected the units they elected (a unit may count more than once).
	Full, Incremental, Elected int
	// Resorted counts the incremental Places after units with no
	// candidate in common swapped places (groups of one size changing).
	Resorted int
}

// Stats returns the Election's counts of placements.
func (e *Election) Stats() Stats { return e.stats }

// Beyond these many dirty units (a fraction of the units) at the start of
// Place, or units elected during it, the full pass is cheaper.
func dirtyLimit(units int) int   { return units/8 + 64 }
func electedLimit(units int) int { return units/4 + 256 }

// Place elects a node for every unit and returns the keys whose winner
// changed since the previous Place (deleted keys that had a winner
// included), in placement order.
//
// Cost, full pass (the first Place, or the placement order changed):
// O(N log N + U·k) for N nodes and U units whose cached ranks hold (k = 4
// here), plus O(U log U) when the order changed, plus the ranking of
// units whose cache was dropped (O(k + e log V) each for e own
// candidates), plus deeper walks for the few units whose first k
// candidates are all full. Otherwise O(N + U) to count the active nodes
// and units (no sort), plus O(log) per unit elected again: the dirty
// units and those their moves reach (about what moved, and the watchers
// of the nodes whose capacity changed).
func (e *Election) Place() []string {
	e.fixOrder()
	caps := e.capacities()
	var changed []string
	for _, key := range e.removed {
		if _, still := e.gone[key]; still {
			changed = append(changed, key)
			delete(e.gone, key) // listed once however often deleted
		}
	}
	e.removed, e.gone = e.removed[:0], nil
	if !e.full {
		if touched, ok := e.incremental(caps); ok {
			e.stats.Incremental++
			slices.SortFunc(touched, placeOrder)
			for _, u := range touched {
				if w := u.inName(); w != u.winner {
					u.winner = w
					changed = append(changed, u.key)
				}
			}
			return changed
		}
	}
	e.stats.Full++
	e.fullPlace()
	for _, u := range e.order {
		if w := u.inName(); w != u.winner {
			u.winner = w
			changed = append(changed, u.key)
		}
	}
	return changed
}

func (u *unit) inName() string {
	if u.in == nil {
		return ""
	}
	return u.in.name
}

// fullPlace elects every unit in order, rebuilding the nodes' lists.
func (e *Election) fullPlace() {
	for _, n := range e.byHash {
		n.won, n.watchers, n.over = n.won[:0], n.watchers[:0], n.over[:0]
	}
	for _, u := range e.dirty {
		u.dirty = false
	}
	e.dirty = e.dirty[:0]
	for _, u := range e.order {
		u.in, u.watch, u.fb, u.dirty = nil, u.watch[:0], false, false
	}
	// With few nodes for many units the lists grow long (a unit ranks
	// k = 4 nodes: 4·units/nodes entries a node) and patching them costs
	// more than this pass: they are not kept, and every Place is full.
	lists := e.placed*cached <= maxListed*max(e.active, 1)
	e.inFull, e.noLists = true, !lists
	for _, u := range e.order {
		e.elect(u)
	}
	e.inFull, e.noLists = false, false
	e.full = !lists
}

// maxListed is the most watchers a node has, on average, for Place to keep
// the nodes' lists.
const maxListed = 512

// capChange is a node whose capacity changed at this Place.
type capChange struct {
	n        *node
	was, now int
}

// incremental elects again the dirty units and what their changes reach,
// in placement order; it returns the units elected, or false when they
// grew past electedLimit (the lists are then inconsistent: the caller
// runs the full pass, which rebuilds them).
func (e *Election) incremental(caps []capChange) ([]*unit, bool) {
	for _, c := range caps {
		lo, hi := min(c.was, c.now), max(c.was, c.now)
		e.markCounts(c.n, lo, hi-1, nil)
		for _, u := range c.n.over {
			e.markDirty(u)
		}
	}
	if len(e.dirty) > dirtyLimit(len(e.order)) {
		return nil, false
	}
	h := unitHeap(e.dirty)
	h.init()
	e.dirty = nil
	e.touch++
	var touched []*unit
	limit := electedLimit(len(e.order))
	for elected := 0; len(h) > 0; elected++ {
		if elected > limit {
			for _, u := range h {
				u.dirty = false
			}
			return nil, false
		}
		u := h.pop()
		u.dirty = false
		if u.gone {
			continue
		}
		e.stats.Elected++
		e.elect(u)
		if u.touched != e.touch {
			u.touched = e.touch
			touched = append(touched, u)
		}
		// Units marked while electing u are after it.
		for _, d := range e.dirty {
			h.push(d)
		}
		e.dirty = e.dirty[:0]
	}
	e.dirty = nil
	return touched, true
}

// elect places one unit, given the units before it, and updates the
// nodes' lists; outside the full pass, a change of winner marks the
// units after it that the change reaches.
func (e *Election) elect(u *unit) {
	var w *node
	fb := false
	if u.count() > 0 {
		w, fb = e.pick(u)
	} else {
		u.top = nil
	}
	e.register(u, fb)
	if w == u.in {
		return
	}
	if old := u.in; old != nil && !e.inFull {
		old.won = removeUnit(old.won, u)
		e.movedAt(old, u, false)
	}
	u.in = w
	switch {
	case w == nil:
	case e.inFull:
		w.won = append(w.won, u)
	default:
		w.won = insertUnit(w.won, u)
		e.movedAt(w, u, true)
	}
}

// register makes the nodes of u's top (and only they) list u among their
// watchers, and in their over lists when u was placed by the fallback.
func (e *Election) register(u *unit, fb bool) {
	if e.noLists || e.full && !e.inFull {
		// The full pass rebuilds the lists.
		u.watch, u.fb = u.watch[:0], false
		return
	}
	if !e.inFull && fb == u.fb && len(u.watch) == len(u.top) {
		same := true
		for i, c := range u.top {
			if u.watch[i] != c.n {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	if !e.inFull { // the full pass starts from empty lists
		for _, n := range u.watch {
			n.watchers = removeUnit(n.watchers, u)
			if u.fb {
				n.over = removeAny(n.over, u)
			}
		}
	}
	u.watch = u.watch[:0]
	for _, c := range u.top {
		u.watch = append(u.watch, c.n)
		if e.inFull {
			// In order: the full pass fills the lists from scratch.
			c.n.watchers = append(c.n.watchers, u)
		} else {
			c.n.watchers = insertUnit(c.n.watchers, u)
		}
		if fb {
			c.n.over = append(c.n.over, u)
		}
	}
	u.fb = fb
}

// unplace takes a unit out of the nodes' lists (it is deleted or
// changed), marking what leaving its winner's list reaches. The unit
// keeps its winner until the next Place.
func (e *Election) unplace(x *unit) {
	if e.full {
		// The full pass rebuilds the lists.
		x.in, x.watch, x.fb = nil, x.watch[:0], false
		return
	}
	if n := x.in; n != nil {
		n.won = removeUnit(n.won, x)
		x.in = nil
		e.movedAt(n, x, false)
	}
	for _, n := range x.watch {
		n.watchers = removeUnit(n.watchers, x)
		if x.fb {
			n.over = removeAny(n.over, x)
		}
	}
	x.watch, x.fb = x.watch[:0], false
}

// movedAt marks, after x joined (inserted) or left n's won list, the
// watchers of n after x for which n's fullness changed (their count of
// n's units before them is now the capacity, or one below it), and n's
// watchers after x placed by the fallback (they compare the counts).
func (e *Election) movedAt(n *node, x *unit, inserted bool) {
	c := n.cap - 1
	if inserted {
		c = n.cap
	}
	e.markCounts(n, c, c, x)
	for _, u := range n.over {
		if placeOrder(u, x) > 0 {
			e.markDirty(u)
		}
	}
}

// markCounts marks the watchers u of n after x (any, when x is nil) that
// have between lo and hi of n's won units before them. Those with exactly
// v are after won[v-1] and up to won[v] included.
func (e *Election) markCounts(n *node, lo, hi int, x *unit) {
	lo = max(lo, 0)
	if hi < lo || lo > len(n.won) {
		return
	}
	ws := n.watchers
	start := 0
	if lo > 0 {
		start = after(ws, n.won[lo-1])
	}
	if x != nil {
		start = max(start, after(ws, x))
	}
	for _, u := range ws[start:] {
		if hi < len(n.won) && placeOrder(u, n.won[hi]) > 0 {
			break
		}
		e.markDirty(u)
	}
}

// after returns the index of the first unit of list after x.
func after(list []*unit, x *unit) int {
	i, _ := slices.BinarySearchFunc(list, x, func(u, x *unit) int {
		if placeOrder(u, x) <= 0 {
			return -1
		}
		return 1
	})
	return i
}

func (e *Election) markDirty(u *unit) {
	if e.full || u.dirty || u.gone {
		return
	}
	u.dirty = true
	e.dirty = append(e.dirty, u)
}

// load is the number of units n won before u (all of them in the full
// pass, which fills the lists in order).
func (e *Election) load(n *node, u *unit) int {
	if e.inFull {
		return len(n.won)
	}
	i, _ := slices.BinarySearchFunc(n.won, u, placeOrder)
	return i
}

// pick returns the best-ranked candidate of u below its capacity or, when
// every candidate is full (possible only when candidate sets differ), the
// least loaded one, earlier rank winning ties (fb: the latter).
func (e *Election) pick(u *unit) (*node, bool) {
	if u.top == nil {
		u.top = e.topK(u, cached, u.buf[:0])
	}
	for {
		for _, c := range u.top {
			if e.load(c.n, u) < c.n.cap {
				return c.n, false
			}
		}
		if len(u.top) >= u.count() {
			break
		}
		u.top = e.topK(u, max(4*len(u.top), 64), nil)
	}
	best, bl := u.top[0].n, e.load(u.top[0].n, u)
	for _, c := range u.top[1:] {
		if l := e.load(c.n, u); l < bl {
			best, bl = c.n, l
		}
	}
	return best, true
}

// insertUnit inserts u into a list in placement order.
func insertUnit(list []*unit, u *unit) []*unit {
	if len(list) == 0 || placeOrder(list[len(list)-1], u) < 0 {
		return append(list, u)
	}
	i, _ := slices.BinarySearchFunc(list, u, placeOrder)
	return slices.Insert(list, i, u)
}

// removeUnit removes u from a list in placement order (searched by
// pointer when the list is not in order).
func removeUnit(list []*unit, u *unit) []*unit {
	if i, found := slices.BinarySearchFunc(list, u, placeOrder); found && list[i] == u {
		return slices.Delete(list, i, i+1)
	}
	return removeAny(list, u)
}

func removeAny(list []*unit, u *unit) []*unit {
	if i := slices.Index(list, u); i >= 0 {
		return slices.Delete(list, i, i+1)
	}
	return list
}

// sorted reports whether the units in order (gone and moved ones aside)
// are in placement order.
func (e *Election) sorted() bool {
	var prev *unit
	for _, u := range e.order {
		if u.gone || !u.inOrder {
			continue
		}
		if prev != nil && placeOrder(prev, u) > 0 {
			return false
		}
		prev = u
	}
	return true
}

// capacities brings byHash up to date, counts the active nodes (members
// of groups with units, units' own candidates) and the units with a
// candidate, and sets each active node's capacity so that the total is
// ceil(6/5 · units) spread as evenly as integers allow: every node gets
// the floor of the share and the nodes first by nodeHash one more. No
// node exceeds ceil(6/5 · units / nodes), and one node coming or going
// changes the capacity of only about units/nodes others, so it moves few
// units (a single rounded capacity for all would jump for every node at
// once). It returns the capacities changed (outside a full pass).
func (e *Election) capacities() []capChange {
	if e.dead > 0 {
		e.byHash = slices.DeleteFunc(e.byHash, func(n *node) bool { return n.dead })
		e.dead = 0
	}
	if len(e.fresh) > 0 {
		fresh := slices.DeleteFunc(e.fresh, func(n *node) bool { return n.dead })
		if len(fresh) <= smallChange {
			for _, n := range fresh {
				i, _ := slices.BinarySearchFunc(e.byHash, n, byHash)
				e.byHash = slices.Insert(e.byHash, i, n)
			}
		} else {
			e.byHash = append(e.byHash, fresh...)
			slices.SortFunc(e.byHash, byHash)
		}
		e.fresh = fresh[:0]
	}
	active := 0
	for _, n := range e.byHash {
		if n.xrefs > 0 || n.grefs > 0 {
			active++
		}
	}
	units := len(e.units) - e.counts[0]
	e.active, e.placed = active, units
	if active == 0 {
		return nil
	}
	total := (units*loadNum + loadDen - 1) / loadDen
	base, extra := total/active, total%active
	var changed []capChange
	i := 0
	for _, n := range e.byHash {
		if n.xrefs == 0 && n.grefs == 0 {
			continue
		}
		c := base
		if i < extra {
			c++
		}
		i++
		if c != n.cap {
			if !e.full {
				changed = append(changed, capChange{n, n.cap, c})
			}
			n.cap = c
		}
	}
	return changed
}

func byHash(a, b *node) int {
	if a.hash != b.hash {
		return cmp.Compare(a.hash, b.hash)
	}
	return cmp.Compare(a.name, b.name)
}

// fixOrder brings the placement order up to date: fewer candidates first
// (so a unit pinned to one node by externalTrafficPolicy: Local is not
// crowded out by units that could go anywhere), then by orderHash, then by
// key.
func (e *Election) fixOrder() {
	if e.full || e.resortOrder {
		if len(e.left) > 0 {
			e.order = slices.DeleteFunc(e.order, func(u *unit) bool { return u.gone || !u.inOrder })
			e.left = e.left[:0]
		}
		// Counts change for whole groups at once, so the order is still
		// mostly sorted and pdqsort finishes in about linear time.
		// (Otherwise the order was found still sorted after each change
		// of counts.)
		if !slices.IsSortedFunc(e.order, placeOrder) {
			slices.SortFunc(e.order, placeOrder)
		}
		if e.resortOrder && !e.full {
			e.stats.Resorted++
		}
		e.resortOrder = false
	} else if len(e.left) > 0 {
		e.dropLeft()
	}
	if len(e.pending) == 0 {
		return
	}
	e.pending = slices.DeleteFunc(e.pending, func(u *unit) bool { return u.gone })
	for _, u := range e.pending {
		u.inOrder = true
	}
	if len(e.pending) <= smallChange {
		for _, u := range e.pending {
			i, _ := slices.BinarySearchFunc(e.order, u, placeOrder)
			e.order = slices.Insert(e.order, i, u)
		}
		e.pending = e.pending[:0]
		return
	}
	slices.SortFunc(e.pending, placeOrder)
	merged := make([]*unit, 0, len(e.order)+len(e.pending))
	a, b := e.order, e.pending
	for len(a) > 0 && len(b) > 0 {
		if placeOrder(a[0], b[0]) <= 0 {
			merged, a = append(merged, a[0]), a[1:]
		} else {
			merged, b = append(merged, b[0]), b[1:]
		}
	}
	e.order = append(append(merged, a...), b...)
	e.pending = nil
}

// unitHeap is a binary heap of units in placement order.
type unitHeap []*unit

func (h unitHeap) init() {
	for i := len(h)/2 - 1; i >= 0; i-- {
		h.down(i)
	}
}

func (h *unitHeap) push(u *unit) {
	*h = append(*h, u)
	s := *h
	for i := len(s) - 1; i > 0; {
		p := (i - 1) / 2
		if placeOrder(s[i], s[p]) >= 0 {
			break
		}
		s[i], s[p] = s[p], s[i]
		i = p
	}
}

func (h *unitHeap) pop() *unit {
	s := *h
	u := s[0]
	last := len(s) - 1
	s[0] = s[last]
	s[last] = nil
	*h = s[:last]
	h.down(0)
	return u
}

func (h unitHeap) down(i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		m := l
		if r := l + 1; r < len(h) && placeOrder(h[r], h[l]) < 0 {
			m = r
		}
		if placeOrder(h[m], h[i]) >= 0 {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// orderCount is the count by which a unit of order is placed there:
// the one it had when it left, for a unit that left.
func (u *unit) orderCount() int {
	if u.gone || !u.inOrder {
		return u.left
	}
	return u.count()
}

// dropLeft removes the units that left the order: each found by the
// count it had when it left (binary search) when they are few and the
// order still places them there, else in one pass.
func (e *Election) dropLeft() {
	left := e.left
	e.left = e.left[:0]
	if len(left) <= smallChange && !e.full {
		found := 0
		for _, u := range left {
			i, _ := slices.BinarySearchFunc(e.order, u, func(o, u *unit) int { return placeOrderN(o, o.orderCount(), u, u.left) })
			if i < len(e.order) && e.order[i] == u {
				e.order = slices.Delete(e.order, i, i+1)
				found++
			} else {
				break
			}
		}
		if found == len(left) {
			return
		}
	}
	e.order = slices.DeleteFunc(e.order, func(u *unit) bool { return u.gone || !u.inOrder })
}
