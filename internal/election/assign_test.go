package election

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
)

var three = []string{"node-a", "node-b", "node-c"}

func TestAssign(t *testing.T) {
	for _, tc := range []struct {
		name  string
		units []Unit
		want  map[string]string
	}{
		{name: "no units", units: nil, want: map[string]string{}},
		{
			name:  "no candidate announces nothing",
			units: []Unit{{Key: "198.18.0.1"}},
			want:  map[string]string{"198.18.0.1": ""},
		},
		{
			name:  "empty candidate names are ignored",
			units: []Unit{{Key: "198.18.0.1", Candidates: []string{"", ""}}},
			want:  map[string]string{"198.18.0.1": ""},
		},
		{
			name:  "single candidate wins",
			units: []Unit{{Key: "198.18.0.1", Candidates: []string{"node-b"}}},
			want:  map[string]string{"198.18.0.1": "node-b"},
		},
		{
			name: "duplicate keys are one unit with the union of candidates",
			units: []Unit{
				{Key: "198.18.0.1", Candidates: []string{"node-b"}},
				{Key: "198.18.0.1"},
				{Key: "198.18.0.2", Candidates: []string{"node-a", "node-a"}},
			},
			want: map[string]string{"198.18.0.1": "node-b", "198.18.0.2": "node-a"},
		},
		{
			name:  "units pinned to one node keep it while others fill around them",
			units: append(units(4, "pinned-%d", "node-a"), units(8, "free-%d", three...)...),
			want: map[string]string{
				"pinned-0": "node-a", "pinned-1": "node-a", "pinned-2": "node-a", "pinned-3": "node-a",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Assign(tc.units)
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q (all: %v)", k, got[k], v, got)
				}
			}
			checkInvariants(t, tc.units, got)
		})
	}
}

// TestAssignSpreadsEvenly checks the load bound on many key sets, so that it
// holds for every input rather than for one lucky set of names.
func TestAssignSpreadsEvenly(t *testing.T) {
	for seed := range 500 {
		got := Assign(units(30, fmt.Sprintf("s%d-198.18.0.%%d", seed), three...))
		for node, n := range loads(got) {
			if n > 12 {
				t.Fatalf("seed %d: %s announces %d of 30 units on 3 nodes, want <= 12", seed, node, n)
			}
		}
	}
	for _, nodes := range []int{1, 2, 3, 5, 8} {
		for n := range 60 {
			var names []string
			for i := range nodes {
				names = append(names, fmt.Sprintf("node-%d", i))
			}
			got := Assign(units(n, "198.18.1.%d", names...))
			limit := capacity(n, nodes)
			for node, l := range loads(got) {
				if l > limit {
					t.Errorf("%d units on %d nodes: %s has %d, capacity %d", n, nodes, node, l, limit)
				}
			}
		}
	}
}

func TestAssignIgnoresInputOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	in := units(40, "2001:db8::%x", "node-a", "node-b", "node-c", "node-d")
	in[3].Candidates = []string{"node-d"}
	in[7].Candidates = []string{"node-b", "node-c"}
	want := Assign(in)
	for range 50 {
		shuffled := shuffle(rng, in)
		if got := Assign(shuffled); !maps.Equal(got, want) {
			t.Fatalf("shuffled input changed the result:\n got %v\nwant %v", got, want)
		}
	}
}

// TestAssignMovesLittle removes one of three nodes and adds it back, on many
// key sets. Leaving may move the leaver's units plus a few whose earlier
// overflow is no longer needed; joining moves what the joiner takes (at
// most its capacity, about a third) plus a few.
func TestAssignMovesLittle(t *testing.T) {
	const n = 30
	totalJoin := 0
	for seed := range 300 {
		keys := fmt.Sprintf("seed%d-198.18.2.%%d", seed)
		before := Assign(units(n, keys, three...))
		after := Assign(units(n, keys, "node-a", "node-b"))

		extra := 0
		for k, node := range before {
			if node != "node-c" && after[k] != node {
				extra++
			}
		}
		if extra > 6 {
			t.Errorf("seed %d: node-c left and %d units of the remaining nodes moved too", seed, extra)
		}

		moved := 0
		for k, node := range after {
			if before[k] != node {
				moved++
			}
		}
		if limit := capacity(n, 3) + 3; moved > limit {
			t.Errorf("seed %d: node-c joined and %d of %d units moved, want <= %d", seed, moved, n, limit)
		}
		totalJoin += moved
	}
	if avg := float64(totalJoin) / 300; avg > n/3*1.1 {
		t.Errorf("a joining node moves %.1f units on average, want about a third of %d", avg, n)
	}
}

func units(n int, format string, candidates ...string) []Unit {
	out := make([]Unit, n)
	for i := range out {
		out[i] = Unit{Key: fmt.Sprintf(format, i), Candidates: slices.Clone(candidates)}
	}
	return out
}

func loads(assignment map[string]string) map[string]int {
	l := map[string]int{}
	for _, node := range assignment {
		if node != "" {
			l[node]++
		}
	}
	return l
}

func shuffle(rng *rand.Rand, in []Unit) []Unit {
	out := make([]Unit, len(in))
	for i, u := range in {
		c := slices.Clone(u.Candidates)
		rng.Shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
		out[i] = Unit{Key: u.Key, Candidates: c}
	}
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// checkInvariants holds for every input: every key is answered, a unit goes
// to one of its candidates or to "" exactly when it has none.
func checkInvariants(t testing.TB, in []Unit, got map[string]string) {
	t.Helper()
	cands := map[string][]string{}
	for _, u := range in {
		cands[u.Key] = append(cands[u.Key], u.Candidates...)
	}
	if len(got) != len(cands) {
		t.Fatalf("got %d keys, want %d", len(got), len(cands))
	}
	for key, cs := range cands {
		node, ok := got[key]
		if !ok {
			t.Fatalf("key %q missing from the result", key)
		}
		has := slices.ContainsFunc(cs, func(c string) bool { return c != "" })
		switch {
		case !has && node != "":
			t.Fatalf("key %q has no candidate but went to %q", key, node)
		case has && !slices.Contains(cs, node):
			t.Fatalf("key %q went to %q, not one of %v", key, node, cs)
		}
	}
}

func BenchmarkAssign(b *testing.B) {
	var names []string
	for i := range 100 {
		names = append(names, fmt.Sprintf("node-%d", i))
	}
	in := units(1000, "198.18.%d", names...)
	for b.Loop() {
		Assign(in)
	}
}
