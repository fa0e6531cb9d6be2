package election

import (
	"cmp"
	"slices"
)

// cached is how many of a unit's best candidates an Election keeps between
// calls. Under the load cap almost every unit takes one of its first few;
// the rest are found by walking further.
const cached = 4

// smallChange is the most nodes a group may gain in one SetGroup for its
// units' cached candidates to be patched rather than recomputed.
const smallChange = 8

// Election keeps the placement of units between calls, so that a change
// costs what it touches rather than a full recomputation. Its answer after
// any sequence of calls is the answer Assign gives for the units and groups
// it then holds: the state is a cache, never an input.
//
// An Election is not safe for concurrent use.
type Election struct {
	nodes  map[string]*node
	groups map[string]*group
	units  map[string]*unit

	// order is the placement order; pending units join it and gone (or
	// moved) units, listed in left, leave it at the next Place.
	order   []*unit
	pending []*unit
	left    []*unit
	// removed are the keys deleted since the last Place that had a
	// winner, in deletion order; gone maps those still deleted to that
	// winner (a key added again takes it back, so Place reports it only
	// if its winner changes).
	removed []string
	gone    map[string]string
	// counts holds how many units have each candidate count, to tell
	// whether a group's change of size can reorder units.
	counts map[int]int

	// full: the next Place elects every unit from scratch (the first
	// one, or after the placement order changed); otherwise it elects
	// again only the dirty units and those their changes reach (see
	// place.go).
	full  bool
	dirty []*unit
	// resortOrder: the order is to be sorted again, the nodes' lists
	// being in order still.
	resortOrder bool
	inFull      bool // within a full placement
	// noLists: within a full placement that keeps no lists (see
	// fullPlace); active and placed: the active nodes and units with a
	// candidate at the last Place.
	noLists        bool
	active, placed int

	// byHash is every node by (hash, name), the capacities' order;
	// fresh nodes join it and dead ones leave it at the next Place.
	byHash []*node
	fresh  []*node
	dead   int

	walk  uint32 // topK's deduplication
	touch uint32 // Place's count of the units it elected again
	stats Stats
}

// group is a named candidate set shared by many units.
type group struct {
	name    string
	members map[*node]bool
	ring    []ringPoint
	units   []*unit        // in no particular order; unit.slot is the index
	mixed   map[*unit]bool // the units with own candidates too
}

// unit is a unit inside an Election.
type unit struct {
	key   string
	pos   uint64 // ring position
	order uint64
	group *group
	extra []*node // own candidates, sorted by name
	// outside is the number of extras that are not group members: the
	// unit has len(group.members) + outside distinct candidates.
	outside int
	// top is a prefix of the unit's candidates in rank order; nil when it
	// must be recomputed.
	top    []cand
	buf    [cached]cand // top's storage while it is short
	winner string
	gone   bool
	slot   int // index in group.units

	// The unit's place in the nodes' lists (see node.won): in holds it
	// in won, watch are the nodes whose watchers hold it (top's nodes),
	// fb that it is in their over lists too.
	in    *node
	watch []*node
	wbuf  [cached]*node
	fb    bool
	dirty bool // to be elected again at the next Place
	// inOrder: in Election.order; left: its candidate count when it was
	// taken out of the order (deleted, or its count changed), to find it.
	inOrder bool
	left    int
	touched uint32
}

// count returns the unit's number of distinct candidates.
func (u *unit) count() int {
	if u.group == nil {
		return u.outside
	}
	return len(u.group.members) + u.outside
}

// New returns an empty Election.
func New() *Election {
	return &Election{nodes: map[string]*node{}, groups: map[string]*group{}, units: map[string]*unit{}, counts: map[int]int{}, full: true}
}

func (e *Election) node(name string) *node {
	n := e.nodes[name]
	if n == nil {
		n = newNode(name)
		e.nodes[name] = n
		e.fresh = append(e.fresh, n)
	}
	n.refs++
	return n
}

func (e *Election) release(n *node) {
	if n.refs--; n.refs == 0 {
		delete(e.nodes, n.name)
		n.dead = true
		e.dead++
	}
}

func (e *Election) group(name string) *group {
	g := e.groups[name]
	if g == nil {
		g = &group{name: name, members: map[*node]bool{}, mixed: map[*unit]bool{}}
		e.groups[name] = g
	}
	return g
}

func (e *Election) countUnit(c, delta int) {
	if e.counts[c] += delta; e.counts[c] == 0 {
		delete(e.counts, c)
	}
}

// SetGroup sets the members of the named candidate set, creating it if
// needed; units that name the group have its members as candidates. Order,
// duplicates and empty names do not matter. Units keep their cached ranks
// when the group loses nodes that are not among them or gains a few nodes.
//
// Cost: O(G + R) for G members and R ring points (V per member), plus,
// when it removes at most two nodes and adds at most 8, O(V·w) for w units
// ranking a node next to the changed ones (about V·4·U/N); otherwise
// O(U·(a·log V + k)) for the U units naming it and a added nodes, or,
// past 8 added, the U units are ranked again at the next Place. Units
// that may now elect differently are marked for the next Place.
func (e *Election) SetGroup(name string, nodes []string) {
	g := e.group(name)
	// Stamp the named nodes instead of building a set of names: a node
	// list of thousands costs map reads, not map writes.
	e.walk++
	var removed, added []*node
	for _, name := range nodes {
		if name == "" {
			continue
		}
		n := e.nodes[name]
		if n != nil && n.seen == e.walk {
			continue // a duplicate
		}
		if n == nil || !g.members[n] {
			n = e.node(name)
			added = append(added, n)
		}
		n.seen = e.walk
	}
	for n := range g.members {
		if n.seen != e.walk {
			removed = append(removed, n)
		}
	}
	if len(removed) == 0 && len(added) == 0 {
		e.dropIfUnused(g)
		return
	}
	was := len(g.members)
	pure := len(g.units) - len(g.mixed)
	e.countUnit(was, -pure)
	oldCount := map[*unit]int{}
	for u := range g.mixed {
		oldCount[u] = u.count()
		e.countUnit(oldCount[u], -1)
	}
	for _, n := range removed {
		n.leaving = true
		delete(g.members, n)
	}
	ring := g.ring[:0]
	for _, p := range g.ring {
		if !p.n.leaving {
			ring = append(ring, p)
		}
	}
	kept := len(g.members)
	for _, n := range added {
		g.members[n] = true
	}
	if len(g.units) > 0 {
		for _, n := range added {
			n.grefs++
		}
		for _, n := range removed {
			n.grefs--
		}
	}
	for u := range g.mixed {
		u.outside = 0
		for _, x := range u.extra {
			if !g.members[x] {
				u.outside++
			}
		}
	}
	e.countUnit(len(g.members), pure)
	for u := range g.mixed {
		e.countUnit(u.count(), 1)
	}
	if !e.full && e.reorders(g, was, len(g.members)) {
		// Units swapped places. It matters only between units that
		// rank a node in common: when the nodes' lists (as they were
		// at the last Place, dirty units still listed) are in order
		// under the new counts, only the order itself is sorted again
		// (say, groups of the same size on disjoint racks); else see
		// place.go.
		if e.listsSorted(g, removed) {
			e.resortOrder = true
		} else {
			e.full = true
		}
	}
	e.patch(g, ring, removed, added, was, kept, oldCount)
	if g.ring = ring; len(added) > 0 {
		g.ring = mergePoints(ring, pointsOf(added))
	}
	for _, n := range removed {
		n.leaving = false
		e.release(n)
	}
	e.dropIfUnused(g)
}

// reorders reports whether g's change of size from was to now may have
// changed the placement order: it cannot when no other unit (nor one of
// g's with own candidates) has a count in between (ties included).
func (e *Election) reorders(g *group, was, now int) bool {
	if len(g.mixed) > 0 {
		// Their counts change with the members, not by now-was.
		return !e.sorted()
	}
	if was == now || len(g.units) == 0 {
		return false
	}
	lo, hi := min(was, now), max(was, now)
	others := -(len(g.units) - len(g.mixed)) // g's own, now at now
	if hi-lo <= 16 {
		for c := lo; c <= hi; c++ {
			others += e.counts[c]
		}
	} else {
		for c, k := range e.counts {
			if c >= lo && c <= hi {
				others += k
			}
		}
	}
	return others > 0 && !e.sorted()
}

// listsSorted reports whether the lists of g's members (and of the nodes
// it lost, and of its units' own candidates) are still in placement
// order: the only lists that hold g's units, whose counts changed.
func (e *Election) listsSorted(g *group, removed []*node) bool {
	ok := func(n *node) bool {
		// won: a dirty unit may have left the watchers, not yet won.
		return slices.IsSortedFunc(n.watchers, placeOrder) && slices.IsSortedFunc(n.won, placeOrder)
	}
	for n := range g.members {
		if !ok(n) {
			return false
		}
	}
	for _, n := range removed {
		if !ok(n) {
			return false
		}
	}
	for u := range g.mixed {
		for _, n := range u.extra {
			if !ok(n) {
				return false
			}
		}
	}
	return true
}

// patch updates the cached ranks of g's units after its members changed
// (removed gone, added in, kept members between) and marks the units
// whose ranks changed dirty. With few nodes changed and the nodes' lists
// kept, only the units listed by the nodes concerned are looked at: a unit
// ranks a removed node only if it is among its watchers, and an added
// node only if it also ranks the node whose point follows one of the
// added node's points on the ring.
func (e *Election) patch(g *group, ring []ringPoint, removed, added []*node, was, kept int, oldCount map[*unit]int) {
	if !e.full && e.patchWork(ring, removed, added) > len(e.units) {
		// Few nodes for many units (a unit ranks a node in about 4 of
		// every nodes): patching lists of thousands one unit at a time
		// costs more than placing every unit.
		e.full = true
	}
	if e.full || len(removed) > 2 || len(added) > smallChange || len(g.mixed) > 0 || len(ring) == 0 {
		for _, u := range g.units {
			old, ok := oldCount[u]
			if !ok {
				old = was
			}
			e.regroup(u, removed, added, old)
		}
		return
	}
	for _, n := range removed {
		for _, u := range slices.Clone(n.watchers) {
			if u.group == g && u.top != nil {
				// Still listed (won ⊆ watchers) until elected again.
				u.top = nil
				e.markDirty(u)
			}
		}
	}
	for i, n := range added {
		e.walk++
		for _, at := range n.points {
			j, _ := slices.BinarySearchFunc(ring, at, func(p ringPoint, at uint64) int { return cmp.Compare(p.at, at) })
			m := ring[j%len(ring)].n
			if m.seen == e.walk {
				continue
			}
			m.seen = e.walk
			for _, u := range slices.Clone(m.watchers) {
				if u.group == g && u.top != nil {
					e.insert(u, n, len(u.top) == kept+i)
				}
			}
		}
	}
}

// patchWork is how many listed units patch would look at: the watchers
// of the removed nodes and of the nodes following the added ones' points.
func (e *Election) patchWork(ring []ringPoint, removed, added []*node) int {
	work := 0
	for _, n := range removed {
		work += len(n.watchers)
	}
	if len(ring) == 0 || len(added) > smallChange {
		return work
	}
	e.walk++
	for _, n := range added {
		for _, at := range n.points {
			j, _ := slices.BinarySearchFunc(ring, at, func(p ringPoint, at uint64) int { return cmp.Compare(p.at, at) })
			if m := ring[j%len(ring)].n; m.seen != e.walk {
				m.seen = e.walk
				work += len(m.watchers)
			}
		}
	}
	return work
}

// regroup updates a unit of a group whose members changed, old its count
// before.
func (e *Election) regroup(u *unit, removed, added []*node, old int) {
	complete := u.top != nil && len(u.top) == old
	if u.top == nil {
		e.markDirty(u)
		return
	}
	if len(added) > smallChange || holdsAny(u.top, removed) {
		u.top = nil // still listed until elected again
		e.markDirty(u)
		return
	}
	for _, n := range added {
		e.insert(u, n, complete)
	}
}

// insert puts a node that joined u's group into its cached ranks, if it
// ranks within them (or they hold every candidate: complete).
func (e *Election) insert(u *unit, n *node, complete bool) {
	if slices.Contains(u.extra, n) {
		return // already a candidate
	}
	c := cand{n.distance(u.pos), n}
	j, found := slices.BinarySearchFunc(u.top, c, before)
	if found || !(j < len(u.top) || complete) {
		return
	}
	u.top = slices.Insert(u.top, j, c)
	e.register(u, u.fb)
	e.markDirty(u)
}

// DeleteGroup removes the named candidate set: units naming it keep only
// their own candidates.
func (e *Election) DeleteGroup(name string) {
	if e.groups[name] != nil {
		e.SetGroup(name, nil)
	}
}

func (e *Election) dropIfUnused(g *group) {
	if len(g.members) == 0 && len(g.units) == 0 {
		delete(e.groups, g.name)
	}
}

// SetUnit adds the unit or replaces the unit of the same key. Its
// candidates are the members of u.Group (when not empty) and u.Candidates.
//
// Cost: O(c log c) for c own candidates, O(log) per unit its leaving its
// node reaches; the unit is ranked at the next Place.
func (e *Election) SetUnit(u Unit) {
	x := e.units[u.Key]
	fresh := x == nil
	old := 0
	if fresh {
		x = &unit{key: u.Key, pos: keyHash(u.Key), order: orderHash(u.Key)}
		x.watch = x.wbuf[:0]
		if w, ok := e.gone[u.Key]; ok {
			// Deleted and added again since the last Place.
			x.winner = w
			delete(e.gone, u.Key)
		}
		e.units[u.Key] = x
		e.pending = append(e.pending, x)
	} else {
		e.unplace(x)
		old = x.count()
		e.countUnit(old, -1)
		e.detach(x)
	}
	names := slices.Clone(u.Candidates)
	slices.Sort(names)
	names = slices.Compact(names)
	if len(names) > 0 && names[0] == "" {
		names = names[1:]
	}
	x.extra = make([]*node, len(names))
	for i, name := range names {
		n := e.node(name)
		n.xrefs++
		x.extra[i] = n
	}
	if u.Group != "" {
		g := e.group(u.Group)
		if len(g.units) == 0 {
			for n := range g.members {
				n.grefs++
			}
		}
		x.group = g
		x.slot = len(g.units)
		g.units = append(g.units, x)
		if len(x.extra) > 0 {
			g.mixed[x] = true
		}
	}
	x.outside = 0
	for _, n := range x.extra {
		if x.group == nil || !x.group.members[n] {
			x.outside++
		}
	}
	x.top = nil
	now := x.count()
	e.countUnit(now, 1)
	if x.inOrder && old != now {
		// Its place in the order changed: out of it, merged in again
		// by its new count at the next Place.
		x.inOrder, x.left = false, old
		e.left = append(e.left, x)
		e.pending = append(e.pending, x)
	}
	e.markDirty(x)
}

// detach drops what a unit holds of nodes and groups.
func (e *Election) detach(x *unit) {
	for _, n := range x.extra {
		n.xrefs--
		e.release(n)
	}
	x.extra, x.outside = nil, 0
	if g := x.group; g != nil {
		last := g.units[len(g.units)-1]
		g.units[x.slot], last.slot = last, x.slot
		g.units = g.units[:len(g.units)-1]
		delete(g.mixed, x)
		if len(g.units) == 0 {
			for n := range g.members {
				n.grefs--
			}
		}
		x.group = nil
		e.dropIfUnused(g)
	}
}

// DeleteUnit removes the unit of key, if any.
func (e *Election) DeleteUnit(key string) {
	x := e.units[key]
	if x == nil {
		return
	}
	e.unplace(x)
	c := x.count()
	e.countUnit(c, -1)
	e.detach(x)
	delete(e.units, key)
	x.gone = true
	if x.inOrder {
		x.left = c
		e.left = append(e.left, x)
	}
	if x.winner != "" {
		if e.gone == nil {
			e.gone = map[string]string{}
		}
		if _, again := e.gone[key]; !again {
			e.removed = append(e.removed, key)
		}
		e.gone[key] = x.winner
	}
}

// Winner returns the node that announces key as of the last Place, or ""
// when the unit has no candidate or is unknown.
func (e *Election) Winner(key string) string {
	if u := e.units[key]; u != nil {
		return u.winner
	}
	return ""
}

// Len returns the number of units.
func (e *Election) Len() int { return len(e.units) }

func placeOrder(a, b *unit) int {
	return placeOrderN(a, a.count(), b, b.count())
}

// placeOrderN is placeOrder with the units' counts given.
func placeOrderN(a *unit, an int, b *unit, bn int) int {
	if an != bn {
		return cmp.Compare(an, bn)
	}
	if a.order != b.order {
		return cmp.Compare(a.order, b.order)
	}
	return cmp.Compare(a.key, b.key)
}

func holdsAny(top []cand, removed []*node) bool {
	switch len(removed) {
	case 0:
		return false
	case 1, 2:
		for _, c := range top {
			if c.n == removed[0] || c.n == removed[len(removed)-1] {
				return true
			}
		}
		return false
	}
	return slices.ContainsFunc(top, func(c cand) bool { return c.n.leaving })
}
