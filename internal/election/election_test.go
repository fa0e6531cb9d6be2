package election

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

// model is the state an Election should hold, kept plainly.
type model struct {
	groups map[string][]string
	units  map[string]Unit
}

// expand returns the units with their group members spelled out, for
// Assign.
func (m model) expand() []Unit {
	var out []Unit
	for _, u := range m.units {
		out = append(out, Unit{Key: u.Key, Candidates: append(slices.Clone(u.Candidates), m.groups[u.Group]...)})
	}
	return out
}

// fresh builds a new Election from the model, in the given order.
func (m model) fresh(rng *rand.Rand) *Election {
	e := New()
	var ops []func()
	for name, nodes := range m.groups {
		ops = append(ops, func() { e.SetGroup(name, nodes) })
	}
	for _, u := range m.units {
		ops = append(ops, func() { e.SetUnit(u) })
	}
	rng.Shuffle(len(ops), func(i, j int) { ops[i], ops[j] = ops[j], ops[i] })
	for _, op := range ops {
		op()
	}
	e.Place()
	return e
}

func winners(e *Election, keys map[string]Unit) map[string]string {
	out := map[string]string{}
	for k := range keys {
		out[k] = e.Winner(k)
	}
	return out
}

// TestElectionMatchesAssign runs random sequences of changes on one
// Election and checks after each Place that it answers what Assign (and a
// fresh Election built in another order) answers for the same state, and
// that Place reported exactly the keys whose winner changed.
func TestElectionMatchesAssign(t *testing.T) {
	// Seed 43 deletes a key and adds it again before one Place: it must
	// not be reported unless its winner changed.
	for seed := range 60 {
		rng := rand.New(rand.NewPCG(uint64(seed), 9))
		var nodes []string
		for i := range 30 {
			nodes = append(nodes, fmt.Sprintf("node-%d", i))
		}
		subset := func(p float64) []string {
			var out []string
			for _, n := range nodes {
				if rng.Float64() < p {
					out = append(out, n)
				}
			}
			return out
		}
		m := model{groups: map[string][]string{}, units: map[string]Unit{}}
		e := New()
		last := map[string]string{}
		for step := range 60 {
			for range 1 + rng.IntN(6) {
				switch op := rng.IntN(10); {
				case op < 2:
					name := fmt.Sprintf("g%d", rng.IntN(3))
					g := subset(0.2 + 0.8*rng.Float64())
					if rng.IntN(4) == 0 { // one node more or less
						g = slices.Clone(m.groups[name])
						if len(g) > 0 && rng.IntN(2) == 0 {
							g = slices.Delete(g, 0, 1)
						} else {
							g = append(g, nodes[rng.IntN(len(nodes))])
						}
					}
					e.SetGroup(name, g)
					m.groups[name] = g
				case op < 8:
					u := Unit{Key: fmt.Sprintf("198.18.%d.%d", seed, rng.IntN(150))}
					if rng.IntN(3) > 0 {
						u.Group = fmt.Sprintf("g%d", rng.IntN(3))
					}
					if u.Group == "" || rng.IntN(4) == 0 {
						u.Candidates = subset(0.1)
					}
					e.SetUnit(u)
					m.units[u.Key] = u
				default:
					key := fmt.Sprintf("198.18.%d.%d", seed, rng.IntN(150))
					e.DeleteUnit(key)
					delete(m.units, key)
				}
			}
			changed := e.Place()
			got := winners(e, m.units)
			if want := Assign(m.expand()); !maps.Equal(got, want) {
				t.Fatalf("seed %d step %d: the Election differs from Assign:\n got %v\nwant %v", seed, step, got, want)
			}
			if want := winners(m.fresh(rng), m.units); !maps.Equal(got, want) {
				t.Fatalf("seed %d step %d: the Election differs from a fresh one", seed, step)
			}
			var diff []string
			for k := range maps.Keys(last) {
				if got[k] != last[k] {
					diff = append(diff, k)
				}
			}
			for k, w := range got {
				if _, ok := last[k]; !ok && w != "" {
					diff = append(diff, k)
				}
			}
			slices.Sort(diff)
			slices.Sort(changed)
			if changed = slices.Compact(changed); !slices.Equal(diff, changed) {
				t.Fatalf("seed %d step %d: Place reported %v, winners changed for %v", seed, step, changed, diff)
			}
			last = got
		}
	}
}

// TestGroupIsItsMembers: a unit's candidates are its group's members plus
// its own, however the group came to hold them.
func TestGroupIsItsMembers(t *testing.T) {
	e := New()
	e.SetUnit(Unit{Key: "198.18.0.1", Group: "all"})
	e.SetUnit(Unit{Key: "198.18.0.2", Group: "all", Candidates: []string{"node-z"}})
	e.SetUnit(Unit{Key: "198.18.0.3", Group: "none"})
	e.Place()
	if w := e.Winner("198.18.0.1"); w != "" {
		t.Fatalf("a unit of an undefined group went to %q", w)
	}
	if w := e.Winner("198.18.0.2"); w != "node-z" {
		t.Fatalf("a unit's own candidate was not used: %q", w)
	}
	e.SetGroup("all", []string{"node-a", "", "node-a"})
	e.Place()
	if w := e.Winner("198.18.0.1"); w != "node-a" {
		t.Fatalf("got %q, want node-a, the group's only member", w)
	}
	e.DeleteGroup("all")
	e.Place()
	if w := e.Winner("198.18.0.1"); w != "" {
		t.Fatalf("a unit of a deleted group went to %q", w)
	}
	if e.Winner("198.18.0.3") != "" || e.Winner("unknown") != "" || e.Len() != 3 {
		t.Fatal("unknown or empty units must have no winner")
	}
}

// TestIncrementalPlace drives one Election through the changes a planner
// makes (a node leaving or joining a large group, units added, changed,
// deleted, units pinned to one or two nodes that fill them past their
// capacity) and checks after each Place that it answers what Assign does,
// and that most Places were incremental.
func TestIncrementalPlace(t *testing.T) {
	var st Stats
	for seed := range 12 {
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		nodes := make([]string, 40+rng.IntN(60))
		for i := range nodes {
			nodes[i] = fmt.Sprintf("node-%d", i)
		}
		// Two racks of one size: a node of one leaving swaps its units'
		// places with the other's, which rank no node in common.
		m := model{groups: map[string][]string{"all": nodes, "half": nodes[:len(nodes)/2], "rackA": nodes[:10], "rackB": nodes[10:20]}, units: map[string]Unit{}}
		unit := func(i int) Unit {
			u := Unit{Key: fmt.Sprintf("198.18.%d.%d", i/256, i%256), Group: "all"}
			switch rng.IntN(12) {
			case 0, 1:
				// Pinned to few nodes: with many such units on one
				// node, every candidate is full (the fallback).
				u.Group, u.Candidates = "", []string{nodes[rng.IntN(4)], nodes[rng.IntN(len(nodes))]}
			case 2:
				u.Group = "half"
			case 3:
				u.Candidates = []string{"node-extra"}
			case 4:
				u.Group = "rackA"
			case 5:
				u.Group = "rackB"
			}
			return u
		}
		e := New()
		for name, g := range m.groups {
			e.SetGroup(name, g)
		}
		units := 300 + rng.IntN(700)
		for i := range units {
			u := unit(i)
			m.units[u.Key] = u
			e.SetUnit(u)
		}
		e.Place()
		for step := range 50 {
			for range 1 + rng.IntN(3) {
				switch op := rng.IntN(7); op {
				case 0, 1:
					// A node of the large group leaves, or comes back.
					all := slices.Clone(m.groups["all"])
					if n := nodes[rng.IntN(len(nodes))]; slices.Contains(all, n) && op == 0 {
						all = slices.DeleteFunc(all, func(x string) bool { return x == n })
					} else if !slices.Contains(all, n) {
						all = append(all, n)
					}
					m.groups["all"] = all
					e.SetGroup("all", all)
				case 2, 3:
					u := unit(rng.IntN(units + 20))
					m.units[u.Key] = u
					e.SetUnit(u)
				case 4:
					key := unit(rng.IntN(units)).Key
					delete(m.units, key)
					e.DeleteUnit(key)
				case 5:
					half := slices.Clone(m.groups["half"])
					half = append(half[1:], half[0])
					if rng.IntN(2) == 0 {
						half = half[:len(half)-1]
					}
					m.groups["half"] = half
					e.SetGroup("half", half)
				case 6:
					rack := nodes[:10]
					if len(m.groups["rackA"]) == 10 {
						rack = nodes[1:10]
					}
					m.groups["rackA"] = rack
					e.SetGroup("rackA", rack)
				}
			}
			e.Place()
			got := winners(e, m.units)
			if want := Assign(m.expand()); !maps.Equal(got, want) {
				for k := range want {
					if got[k] != want[k] {
						t.Errorf("%s: %s, want %s", k, got[k], want[k])
					}
				}
				t.Fatalf("seed %d step %d: the Election differs from Assign", seed, step)
			}
		}
		s := e.Stats()
		st.Full, st.Incremental, st.Elected, st.Resorted = st.Full+s.Full, st.Incremental+s.Incremental, st.Elected+s.Elected, st.Resorted+s.Resorted
	}
	t.Logf("%+v", st)
	if st.Incremental < 4*st.Full || st.Resorted == 0 {
		t.Errorf("%d full placements, %d incremental, %d of them resorted", st.Full, st.Incremental, st.Resorted)
	}
}
