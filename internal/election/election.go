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

	// order is the placement order; pending units join it and gone units
	// leave it at the next Place, and resort rebuilds it entirely (after
	// candidate counts changed).
	order   []*unit
	pending []*unit
	gone    int
	resort  bool
	removed []string // keys deleted since the last Place that had a winner

	epoch       uint32 // Place's count of active nodes
	walk        uint32 // topK's deduplication
	nodeScratch []*node
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
}

// New returns an empty Election.
func New() *Election {
	return &Election{nodes: map[string]*node{}, groups: map[string]*group{}, units: map[string]*unit{}}
}

func (e *Election) node(name string) *node {
	n := e.nodes[name]
	if n == nil {
		n = newNode(name)
		e.nodes[name] = n
	}
	n.refs++
	return n
}

func (e *Election) release(n *node) {
	if n.refs--; n.refs == 0 {
		delete(e.nodes, n.name)
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
	for _, u := range g.units {
		e.regroup(u, removed, added)
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

// regroup updates a unit of a group whose members changed.
func (e *Election) regroup(u *unit, removed, added []*node) {
	old := u.ncand
	complete := u.top != nil && len(u.top) == old
	u.ncand = u.count()
	if u.ncand != old {
		e.resort = true
	}
	if u.top == nil {
		return
	}
	if len(added) > smallChange || holdsAny(u.top, removed) {
		u.top = nil
		return
	}
	for _, n := range added {
		if slices.Contains(u.extra, n) {
			continue // already a candidate
		}
		c := cand{n.distance(u.pos), n}
		j, _ := slices.BinarySearchFunc(u.top, c, before)
		if j < len(u.top) || complete {
			u.top = slices.Insert(u.top, j, c)
		}
	}
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
		e.units[u.Key] = x
		e.pending = append(e.pending, x)
	} else {
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
	if !fresh && old != x.ncand {
		e.resort = true // a pending unit is merged in by its new count
	}
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

// Place elects a node for every unit and returns the keys whose winner
// changed since the previous Place (deleted keys that had a winner
// included), in placement order.
//
// Cost: O(N log N + U·k) for N nodes and U units whose cached ranks hold
// (k = 4 here), plus O(U log U) when candidate counts changed, plus the
// ranking of units whose cache was dropped (O(k + e log V) each for e own
// candidates), plus deeper walks for the few units whose first k
// candidates are all full.
func (e *Election) Place() []string {
	e.fixOrder()
	placed := 0
	e.epoch++
	active := e.nodeScratch[:0]
	mark := func(n *node) {
		if n.mark != e.epoch {
			n.mark = e.epoch
			active = append(active, n)
		}
	}
	for _, g := range e.groups {
		if len(g.units) > 0 {
			for n := range g.members {
				mark(n)
			}
		}
	}
	for _, u := range e.order {
		if u.ncand > 0 {
			placed++
		}
		for _, n := range u.extra {
			mark(n)
		}
	}
	capacities(active, placed)
	e.nodeScratch = active[:0]

	changed := e.removed
	e.removed = nil
	for _, u := range e.order {
		w := ""
		if u.ncand > 0 {
			n := e.pick(u)
			n.load++
			w = n.name
		}
		if w != u.winner {
			u.winner = w
			changed = append(changed, u.key)
		}
	}
	return changed
}

// capacities sets each node's capacity so that the total is
// ceil(6/5 · units) spread as evenly as integers allow: every node gets
// the floor of the share and the nodes first by nodeHash one more. No node
// exceeds ceil(6/5 · units / nodes), and one node coming or going changes
// the capacity of only about units/nodes others, so it moves few units
// (a single rounded capacity for all would jump for every node at once).
func capacities(nodes []*node, units int) {
	if len(nodes) == 0 {
		return
	}
	slices.SortFunc(nodes, func(a, b *node) int {
		if a.hash != b.hash {
			return cmp.Compare(a.hash, b.hash)
		}
		return cmp.Compare(a.name, b.name)
	})
	total := (units*loadNum + loadDen - 1) / loadDen
	base, extra := total/len(nodes), total%len(nodes)
	for i, n := range nodes {
		n.cap, n.load = base, 0
		if i < extra {
			n.cap++
		}
	}
}

// pick returns the best-ranked candidate of u below its capacity or, when
// every candidate is full (possible only when candidate sets differ), the
// least loaded one, earlier rank winning ties.
func (e *Election) pick(u *unit) *node {
	if u.top == nil {
		u.top = e.topK(u, cached, u.buf[:0])
	}
	for {
		for _, c := range u.top {
			if c.n.load < c.n.cap {
				return c.n
			}
		}
		if len(u.top) >= u.ncand {
			break
		}
		u.top = e.topK(u, max(4*len(u.top), 64), nil)
	}
	best := u.top[0].n
	for _, c := range u.top[1:] {
		if c.n.load < best.load {
			best = c.n
		}
	}
	return best
}

// fixOrder brings the placement order up to date: fewer candidates first
// (so a unit pinned to one node by externalTrafficPolicy: Local is not
// crowded out by units that could go anywhere), then by orderHash, then by
// key.
func (e *Election) fixOrder() {
	if e.gone > 0 {
		e.order = slices.DeleteFunc(e.order, func(u *unit) bool { return u.gone })
		e.gone = 0
	}
	if e.resort {
		// Counts change for whole groups at once, so the order is
		// still mostly sorted and pdqsort finishes in about linear time.
		slices.SortFunc(e.order, placeOrder)
		e.resort = false
	}
	if len(e.pending) > 0 {
		e.pending = slices.DeleteFunc(e.pending, func(u *unit) bool { return u.gone })
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
}

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
