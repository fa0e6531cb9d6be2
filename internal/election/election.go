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
	// moved) units leave it at the next Place. resort: candidate counts
	// changed; the order is sorted again at the next Place if full is set
	// (it is checked after each change of counts).
	order   []*unit
	pending []*unit
	gone    int
	resort  bool
	removed []string // keys deleted since the last Place that had a winner

	// full: the next Place elects every unit from scratch (the first
	// one, or after the placement order changed); otherwise it elects
	// again only the dirty units and those their changes reach (see
	// place.go).
	full   bool
	dirty  []*unit
	inFull bool // within a full placement

	// byHash is every node by (hash, name), the capacities' order;
	// fresh nodes join it and dead ones leave it at the next Place.
	byHash []*node
	fresh  []*node
	dead   int

	epoch uint32 // Place's count of active nodes
	walk  uint32 // topK's deduplication
	touch uint32 // Place's count of the units it elected again
	stats Stats
}

// group is a named candidate set shared by many units.
type group struct {
	name    string
	members map[*node]bool
	ring    []ringPoint
	units   []*unit // in no particular order; unit.slot is the index
}

// unit is a unit inside an Election.
type unit struct {
	key   string
	pos   uint64 // ring position
	order uint64
	group *group
	extra []*node // own candidates, sorted by name
	ncand int     // distinct candidates: group members and extras
	// top is a prefix of the unit's candidates in rank order; nil when it
	// must be recomputed.
	top    []cand
	buf    [cached]cand // top's storage while it is short
	winner string
	gone   bool
	slot   int // index in group.units

	// The unit's place in the nodes' lists (see node.won): in holds it
	// in won, watch are the nodes whose watchers hold it (top's nodes
	// when it was last elected), fb that it is in their over lists too.
	in    *node
	watch []*node
	wbuf  [cached]*node
	fb    bool
	dirty bool // to be elected again at the next Place
	// inOrder: in Election.order; out: taken out of it, its count
	// changed, to be merged in again from pending.
	inOrder, out bool
	touched      uint32
}

// New returns an empty Election.
func New() *Election {
	return &Election{nodes: map[string]*node{}, groups: map[string]*group{}, units: map[string]*unit{}, full: true}
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
		g = &group{name: name, members: map[*node]bool{}}
		e.groups[name] = g
	}
	return g
}

// SetGroup sets the members of the named candidate set, creating it if
// needed; units that name the group have its members as candidates. Order,
// duplicates and empty names do not matter. Units keep their cached ranks
// when the group loses nodes that are not among them or gains a few nodes.
//
// Cost: O(R + U·(a·log V + k)) for R ring points of the group (V per
// member), U units naming it and a added nodes, when a <= 8; otherwise the
// U units are ranked again at the next Place.
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
	for _, n := range added {
		g.members[n] = true
	}
	if g.ring = ring; len(added) > 0 {
		g.ring = mergePoints(ring, pointsOf(added))
	}
	recount := false
	for _, u := range g.units {
		recount = e.regroup(u, removed, added) || recount
	}
	if recount && !e.full && !e.sorted() {
		e.full = true // the placement order changed: see place.go
	}
	for _, n := range removed {
		n.leaving = false
		e.release(n)
	}
	e.dropIfUnused(g)
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

// regroup updates a unit of a group whose members changed; it reports
// whether the unit's candidate count changed. A unit whose cached ranks
// changed is marked dirty: its placement may change.
func (e *Election) regroup(u *unit, removed, added []*node) bool {
	old := u.ncand
	complete := u.top != nil && len(u.top) == old
	u.ncand = u.count()
	recount := u.ncand != old
	if recount {
		e.resort = true
	}
	if u.top == nil {
		e.markDirty(u)
		return recount
	}
	if len(added) > smallChange || holdsAny(u.top, removed) {
		u.top = nil
		e.markDirty(u)
		return recount
	}
	for _, n := range added {
		if slices.Contains(u.extra, n) {
			continue // already a candidate
		}
		c := cand{n.distance(u.pos), n}
		j, _ := slices.BinarySearchFunc(u.top, c, before)
		if j < len(u.top) || complete {
			u.top = slices.Insert(u.top, j, c)
			e.markDirty(u)
		}
	}
	return recount
}

// count returns the unit's number of distinct candidates.
func (u *unit) count() int {
	n := 0
	if u.group != nil {
		n = len(u.group.members)
	}
	for _, x := range u.extra {
		if u.group == nil || !u.group.members[x] {
			n++
		}
	}
	return n
}

// SetUnit adds the unit or replaces the unit of the same key. Its
// candidates are the members of u.Group (when not empty) and u.Candidates.
//
// Cost: O(c log c) for c own candidates; the unit is ranked at the next
// Place.
func (e *Election) SetUnit(u Unit) {
	x := e.units[u.Key]
	fresh := x == nil
	if fresh {
		x = &unit{key: u.Key, pos: keyHash(u.Key), order: orderHash(u.Key)}
		x.watch = x.wbuf[:0]
		e.units[u.Key] = x
		e.pending = append(e.pending, x)
	} else {
		e.unplace(x)
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
		x.extra[i] = e.node(name)
	}
	if u.Group != "" {
		x.group = e.group(u.Group)
		x.slot = len(x.group.units)
		x.group.units = append(x.group.units, x)
	}
	old := x.ncand
	x.ncand = x.count()
	x.top = nil
	if x.inOrder && old != x.ncand {
		// Its place in the order changed: out of it, merged in again
		// by its new count at the next Place.
		x.inOrder, x.out = false, true
		e.gone++
		e.pending = append(e.pending, x)
	}
	e.markDirty(x)
}

// detach drops what a unit holds of nodes and groups.
func (e *Election) detach(x *unit) {
	for _, n := range x.extra {
		e.release(n)
	}
	x.extra = nil
	if g := x.group; g != nil {
		last := g.units[len(g.units)-1]
		g.units[x.slot], last.slot = last, x.slot
		g.units = g.units[:len(g.units)-1]
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
	e.detach(x)
	delete(e.units, key)
	x.gone = true
	e.gone++
	if x.winner != "" {
		e.removed = append(e.removed, key)
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
	if a.ncand != b.ncand {
		return cmp.Compare(a.ncand, b.ncand)
	}
	if a.order != b.order {
		return cmp.Compare(a.order, b.order)
	}
	return cmp.Compare(a.key, b.key)
}

// holdsAny tells whether top holds one of the removed nodes. For one or two
// (a node gone) it compares pointers, without touching the nodes.
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
