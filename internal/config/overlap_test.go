package config

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/api/v1beta1"
)

// TestPoolOverlap: the sorted index refuses exactly the pools that overlap
// an older kept pool, in both families, and names every range it hits.
func TestPoolOverlap(t *testing.T) {
	for _, tc := range []struct {
		name  string
		pools []v1beta1.IPAddressPool
		keep  []string
		hits  map[string]int // refused pool -> overlaps reported
	}{
		{"adjacent IPv4 ranges do not overlap", []v1beta1.IPAddressPool{
			pool("a", 1, "198.18.0.0-198.18.0.9"), pool("b", 2, "198.18.0.10-198.18.0.20"),
		}, []string{"a", "b"}, nil},
		{"adjacent IPv6 ranges do not overlap", []v1beta1.IPAddressPool{
			pool("a", 1, "2001:db8::/64"), pool("b", 2, "2001:db8:0:1::/64"),
		}, []string{"a", "b"}, nil},
		{"one shared IPv6 address", []v1beta1.IPAddressPool{
			pool("a", 1, "2001:db8::1-2001:db8::10"), pool("b", 2, "2001:db8::10-2001:db8::20"),
		}, []string{"a"}, map[string]int{"b": 1}},
		{"IPv4 and IPv6 never overlap", []v1beta1.IPAddressPool{
			pool("a", 1, "198.18.0.0/24"), pool("b", 2, "2001:db8::/120", "::c612:0/120"),
		}, []string{"a", "b"}, nil},
		{"a wide range over two older pools names both", []v1beta1.IPAddressPool{
			pool("a", 1, "198.18.1.0/24"), pool("b", 2, "198.18.3.0/24", "2001:db8:1::/64"),
			pool("wide", 3, "198.18.0.0/16", "2001:db8::/32"),
		}, []string{"a", "b"}, map[string]int{"wide": 3}},
		{"inside an older range", []v1beta1.IPAddressPool{
			pool("new", 5, "2001:db8:5::8/126"), pool("old", 1, "2001:db8:5::/120"),
		}, []string{"old"}, map[string]int{"new": 1}},
		{"a refused pool takes nothing", []v1beta1.IPAddressPool{
			pool("a", 1, "198.18.0.0/25"), pool("b", 2, "198.18.0.0/24"), pool("c", 3, "198.18.0.128/25"),
		}, []string{"a", "c"}, map[string]int{"b": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := Build(Input{Pools: tc.pools})
			if got := slices.Sorted(maps.Keys(c.Pools)); !slices.Equal(got, tc.keep) {
				t.Fatalf("kept %v, want %v (%v)", got, tc.keep, ps)
			}
			hits := map[string]int{}
			for _, p := range ps {
				hits[p.Name]++
				if !strings.Contains(p.Message, "overlaps") {
					t.Errorf("unexpected problem %v", p)
				}
			}
			if !maps.Equal(hits, tc.hits) && len(hits)+len(tc.hits) > 0 {
				t.Fatalf("problems %v, want per pool %v", ps, tc.hits)
			}
		})
	}
}

// pairwiseKept is the check the index replaced: every range of a pool
// against every range kept before it.
func pairwiseKept(pools []*Pool) ([]string, []string) {
	var taken []owned
	var kept, msgs []string
	for _, p := range pools {
		clash := false
		for _, r := range p.Ranges {
			for _, t := range taken {
				if r.Overlaps(t.r) {
					msgs = append(msgs, fmt.Sprintf("%s: %s over %s of %s", p.Name, r, t.r, t.pool))
					clash = true
				}
			}
		}
		if !clash {
			for _, r := range p.Ranges {
				taken = append(taken, owned{r, p.Name})
			}
			kept = append(kept, p.Name)
		}
	}
	return kept, msgs
}

// TestPoolOverlapMatchesPairwise: on random pools of both families the
// index keeps the pools and reports the overlaps the pairwise check does.
func TestPoolOverlapMatchesPairwise(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		var in []v1beta1.IPAddressPool
		for i := range 1 + r.IntN(30) {
			var addrs []string
			for range 1 + r.IntN(3) {
				lo := r.IntN(250)
				hi := lo + r.IntN(6)
				if r.IntN(2) == 0 {
					addrs = append(addrs, fmt.Sprintf("198.18.0.%d-198.18.0.%d", lo, hi))
				} else {
					addrs = append(addrs, fmt.Sprintf("2001:db8::%x-2001:db8::%x", lo, hi))
				}
			}
			in = append(in, pool(fmt.Sprintf("p%02d", i), r.IntN(10), addrs...))
		}
		var ps Problems
		kept := buildPools(in, nil, &ps)
		// The same pools, parsed in the same order, through the old check.
		var parsed []*Pool
		var discard Problems
		objs := slices.Clone(in)
		slices.SortStableFunc(objs, func(a, b v1beta1.IPAddressPool) int {
			if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
				return c
			}
			return strings.Compare(a.Name, b.Name)
		})
		for i := range objs {
			if p, ok := buildPool(&objs[i], &discard); ok {
				parsed = append(parsed, p)
			}
		}
		wantKept, wantMsgs := pairwiseKept(parsed)
		var gotKept, gotMsgs []string
		for _, p := range kept {
			gotKept = append(gotKept, p.Name)
		}
		idx := newTakenIndex(parsed)
		for i, p := range parsed {
			clash := false
			for _, rg := range p.Ranges {
				for _, t := range idx.overlapping(rg) {
					gotMsgs = append(gotMsgs, fmt.Sprintf("%s: %s over %s of %s", p.Name, rg, t.r, t.pool))
					clash = true
				}
			}
			if !clash {
				idx.take(i)
			}
		}
		slices.Sort(wantMsgs)
		slices.Sort(gotMsgs)
		if !slices.Equal(gotKept, wantKept) || !slices.Equal(gotMsgs, wantMsgs) {
			t.Fatalf("round %d: kept %v, want %v\noverlaps %v\nwant     %v", round, gotKept, wantKept, gotMsgs, wantMsgs)
		}
	}
}
