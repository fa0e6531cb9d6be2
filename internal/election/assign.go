package election

import (
	"fmt"
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
	// Group names a candidate set of an Election (see SetGroup) whose
	// members are candidates too: many units sharing one large set cost
	// one set, not one list each. Assign knows no groups and ignores it.
	Group string
}

// loadFactor bounds a node's share at 6/5 of the average: the smallest
// slack that still lets most units sit on their first-ranked node. It is a
// ratio of integers so the capacity is computed exactly everywhere.
const loadNum, loadDen = 6, 5

// capacity is the documented load bound, ceil(6/5 · units / nodes): no
// node holds more when every unit has the same candidates.
func capacity(units, nodes int) int {
	den := loadDen * nodes
	return (units*loadNum + den - 1) / den
}

// sharedAt is the candidate count from which Assign turns identical
// candidate lists into one group, so that they are ranked on a ring
// instead of one list each.
const sharedAt = 16

// Assign returns, for every key in units, the node that announces it, or ""
// when the unit has no candidate. The result depends only on the set of
// (key, candidate) pairs: input order is irrelevant, and a key that appears
// more than once has the union of its candidates. It is what an Election
// holding the same units answers.
//
// Cost: O(u·c·log c) for u units of at most c candidates, to read and
// sort the input; the election itself then costs what Place does.
func Assign(units []Unit) map[string]string {
	cands := make(map[string][]string, len(units))
	for _, u := range units {
		cands[u.Key] = append(cands[u.Key], u.Candidates...)
	}
	e := New()
	// Identical lists are found by a hash of the sorted names, then
	// compared, without building a string of them.
	type shared struct {
		names []string
		group string
	}
	groups := map[uint64][]shared{}
	for key, cs := range cands {
		slices.Sort(cs)
		cs = slices.Compact(cs)
		if len(cs) > 0 && cs[0] == "" {
			cs = cs[1:]
		}
		if len(cs) < sharedAt {
			e.SetUnit(Unit{Key: key, Candidates: cs})
			continue
		}
		h := uint64(fnvOffset)
		for _, c := range cs {
			h = fnvByte(fnvString(h, c), 0)
		}
		i := slices.IndexFunc(groups[h], func(s shared) bool { return slices.Equal(s.names, cs) })
		if i < 0 {
			i = len(groups[h])
			groups[h] = append(groups[h], shared{cs, fmt.Sprintf("%x/%d", h, i)})
			e.SetGroup(groups[h][i].group, cs)
		}
		e.SetUnit(Unit{Key: key, Group: groups[h][i].group})
	}
	e.Place()
	result := make(map[string]string, len(cands))
	for key := range cands {
		result[key] = e.Winner(key)
	}
	return result
}
