package election

import (
	"cmp"
	"slices"
)

// Unit is one thing to place on exactly one node: one LoadBalancer IP.
type Unit struct {
	// Key names the unit, e.g. the IP in its canonical text form. It is
	// also the hash input, so every speaker must spell it the same way.
	Key string
	// Candidates are the nodes allowed to announce the unit, already
	// filtered by the caller (advertisement selectors, liveness, endpoint
	// readiness). Order and duplicates do not matter; empty names are
	// ignored.
	Candidates []string
}

// loadFactor bounds a node's share at 6/5 of the average: the smallest
// slack that still lets most units sit on their first-ranked node. It is a
// ratio of integers so the capacity is computed exactly everywhere.
const loadNum, loadDen = 6, 5

// Assign returns, for every key in units, the node that announces it, or ""
// when the unit has no candidate. The result depends only on the set of
// (key, candidate) pairs: input order is irrelevant, and a key that appears
// more than once has the union of its candidates.
//
// Cost: O(u·c·log c + u·log u) for u units of at most c candidates.
func Assign(units []Unit) map[string]string {
	placed, result := normalize(units)
	if len(placed) == 0 {
		return result
	}
	nodes := map[string]int{}
	for _, u := range placed {
		for _, c := range u.ranked {
			nodes[c] = 0
		}
	}
	limit := capacity(len(placed), len(nodes))

	slices.SortFunc(placed, func(a, b *unit) int {
		if len(a.ranked) != len(b.ranked) {
			return cmp.Compare(len(a.ranked), len(b.ranked))
		}
		if a.order != b.order {
			return cmp.Compare(a.order, b.order)
		}
		return cmp.Compare(a.key, b.key)
	})
	for _, u := range placed {
		result[u.key] = pick(u.ranked, nodes, limit)
		nodes[result[u.key]]++
	}
	return result
}

// capacity is ceil(loadFactor * units / nodes), and never below the plain
// ceiling of the average, so it always leaves room for every unit.
func capacity(units, nodes int) int {
	den := loadDen * nodes
	return (units*loadNum + den - 1) / den
}

// pick returns the best-ranked node below the limit or, when every
// candidate is full (possible only when candidate sets differ), the least
// loaded one, earlier rank winning ties.
func pick(ranked []string, load map[string]int, limit int) string {
	for _, n := range ranked {
		if load[n] < limit {
			return n
		}
	}
	best := ranked[0]
	for _, n := range ranked[1:] {
		if load[n] < load[best] {
			best = n
		}
	}
	return best
}

// unit is a Unit with its candidates deduplicated and ranked.
type unit struct {
	key    string
	order  uint64
	ranked []string
}

// normalize merges duplicate keys, drops empty and repeated candidate
// names, ranks each unit's candidates, and returns the units that have a
// candidate plus a result map that already holds "" for those that do not.
func normalize(units []Unit) ([]*unit, map[string]string) {
	cands := make(map[string][]string, len(units))
	for _, u := range units {
		cands[u.Key] = append(cands[u.Key], u.Candidates...)
	}
	result := make(map[string]string, len(cands))
	placed := make([]*unit, 0, len(cands))
	for key, cs := range cands {
		slices.Sort(cs)
		cs = slices.Compact(cs)
		if len(cs) > 0 && cs[0] == "" {
			cs = cs[1:]
		}
		if len(cs) == 0 {
			result[key] = ""
			continue
		}
		rank(key, cs)
		placed = append(placed, &unit{key: key, order: keyHash(key), ranked: cs})
	}
	return placed, result
}

// rank sorts nodes best first for key: by descending rendezvous score,
// names breaking the (astronomically unlikely) ties.
func rank(key string, nodes []string) {
	type scored struct {
		score uint64
		node  string
	}
	s := make([]scored, len(nodes))
	for i, n := range nodes {
		s[i] = scored{score(n, key), n}
	}
	slices.SortFunc(s, func(a, b scored) int {
		if a.score != b.score {
			return cmp.Compare(b.score, a.score)
		}
		return cmp.Compare(a.node, b.node)
	})
	for i := range s {
		nodes[i] = s[i].node
	}
}
