package election

import (
	"cmp"
	"slices"
)

// node is one node name known to an Election, with its ring points.
type node struct {
	name   string
	points []uint64 // sorted
	hash   uint64
	// refs counts the groups that hold the node plus the units that name
	// it among their own candidates; at zero the node is forgotten.
	refs int
	// xrefs counts the units naming it among their own candidates, grefs
	// the groups with units that hold it: it is active (counted in the
	// capacities) when either is not zero.
	xrefs, grefs int
	// cap is its capacity as of the last Place.
	cap int
	// The placement as of the last Place, kept for the next one (see
	// place.go): won holds the units it announces, watchers the units
	// whose cached ranking (top) holds it, both in placement order, and
	// over those of the watchers placed on their least loaded candidate
	// because every candidate was full (in no order).
	won, watchers, over []*unit
	// seen deduplicates nodes during a ring walk.
	seen uint32
	// leaving marks the nodes a SetGroup is removing.
	leaving bool
	// dead: forgotten (no reference left), to be dropped from byHash.
	dead bool
}

func newNode(name string) *node {
	n := &node{name: name, hash: nodeHash(name), points: make([]uint64, replicas)}
	for i := range n.points {
		n.points[i] = point(name, i)
	}
	slices.Sort(n.points)
	return n
}

// distance is how far clockwise from pos the node's nearest point lies: the
// node's rank key for a unit at pos (smaller is better).
func (n *node) distance(pos uint64) uint64 {
	i, _ := slices.BinarySearch(n.points, pos)
	if i == len(n.points) {
		i = 0
	}
	return n.points[i] - pos // wraps around the ring
}

// cand is a candidate of one unit with its rank key.
type cand struct {
	d uint64
	n *node
}

// before orders candidates best first; names break the (astronomically
// unlikely) ties so that the order is total.
func before(a, b cand) int {
	if a.d != b.d {
		return cmp.Compare(a.d, b.d)
	}
	return cmp.Compare(a.n.name, b.n.name)
}

// ringPoint is one point of a group's ring.
type ringPoint struct {
	at uint64
	n  *node
}

func comparePoints(a, b ringPoint) int {
	if a.at != b.at {
		return cmp.Compare(a.at, b.at)
	}
	return cmp.Compare(a.n.name, b.n.name)
}

// pointsOf returns the ring points of nodes, sorted.
func pointsOf(nodes []*node) []ringPoint {
	out := make([]ringPoint, 0, len(nodes)*replicas)
	for _, n := range nodes {
		for _, p := range n.points {
			out = append(out, ringPoint{p, n})
		}
	}
	slices.SortFunc(out, comparePoints)
	return out
}

// mergePoints returns the sorted union of two sorted point lists, in a's
// storage (grown if needed): merged from the back, so that a node joining
// a ring of thousands does not allocate a new one.
func mergePoints(a, b []ringPoint) []ringPoint {
	n := len(a)
	out := slices.Grow(a, len(b))[:n+len(b)]
	i, j := n-1, len(b)-1
	for k := len(out) - 1; j >= 0; k-- {
		if i >= 0 && comparePoints(out[i], b[j]) > 0 {
			out[k] = out[i]
			i--
		} else {
			out[k] = b[j]
			j--
		}
	}
	return out
}

// topK returns the first k candidates of u in rank order (all of them when
// it has k or fewer): the first k distinct nodes met walking its group's
// ring clockwise from the unit's position, merged with its own extra
// candidates, whose distance is found on each node's points directly.
// Either way a candidate's rank key is its distance, so the order is the
// same however it is computed. The result is appended to out.
func (e *Election) topK(u *unit, k int, out []cand) []cand {
	if g := u.group; g != nil && len(g.ring) > 0 {
		e.walk++
		i, _ := slices.BinarySearchFunc(g.ring, u.pos, func(p ringPoint, pos uint64) int { return cmp.Compare(p.at, pos) })
		for step := 0; step < len(g.ring) && len(out) < k; step++ {
			p := g.ring[(i+step)%len(g.ring)]
			if p.n.seen != e.walk {
				p.n.seen = e.walk
				out = append(out, cand{p.at - u.pos, p.n})
			}
		}
	}
	for _, n := range u.extra {
		if u.group == nil || !u.group.members[n] {
			out = append(out, cand{n.distance(u.pos), n})
		}
	}
	slices.SortFunc(out, before)
	if len(out) > k {
		out = out[:k]
	}
	return out
}
