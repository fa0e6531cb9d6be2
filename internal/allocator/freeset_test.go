package allocator

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/barelb/barelb/internal/addr"
)

// checkFreeSet verifies the structural invariants of s: intervals sorted,
// disjoint, maximal (not adjacent), trimmed of buggy ends, counts right.
func checkFreeSet(t testing.TB, s *freeSet) {
	t.Helper()
	var prev netip.Addr
	var n int
	var total count
	s.walk(func(first, last netip.Addr) {
		n++
		if last.Less(first) {
			t.Fatalf("interval %v-%v reversed", first, last)
		}
		if s.buggy(first) || s.buggy(last) {
			t.Fatalf("interval %v-%v ends on a buggy address", first, last)
		}
		if prev.IsValid() && (!prev.Less(first) || s.adjacent(prev, first)) {
			t.Fatalf("interval starting %v overlaps or touches the one ending %v", first, prev)
		}
		prev = last
		total = total.add(s.usable(first, last))
	})
	if n != s.intervals {
		t.Fatalf("intervals = %d, counted %d", s.intervals, n)
	}
	if total != s.free {
		t.Fatalf("free = %v, counted %v", s.free, total)
	}
	checkHeap(t, s.root)
}

func checkHeap(t testing.TB, n *node) {
	for _, c := range []*node{n.leftOrNil(), n.rightOrNil()} {
		if c != nil {
			if c.prio > n.prio {
				t.Fatalf("heap order broken at %v", n.first)
			}
			checkHeap(t, c)
		}
	}
}

func (n *node) leftOrNil() *node {
	if n == nil {
		return nil
	}
	return n.left
}

func (n *node) rightOrNil() *node {
	if n == nil {
		return nil
	}
	return n.right
}

func TestFreeSetModel(t *testing.T) {
	for _, buggy := range []bool{false, true} {
		r := addr.MustParseRange("198.18.0.250-198.18.3.5")
		s := newFreeSet(buggy)
		s.Add(r.First, r.Last)
		model := map[netip.Addr]bool{} // free and usable
		for a := r.First; !r.Last.Less(a); a = a.Next() {
			if !buggy || !isBuggy(a) {
				model[a] = true
			}
		}
		rnd := rand.New(rand.NewPCG(1, 2))
		size := int(r.Size())
		for i := 0; i < 20000; i++ {
			a, _ := addr.Add(r.First, uint64(rnd.IntN(size)))
			switch rnd.IntN(3) {
			case 0:
				if got, want := s.Take(a), model[a]; got != want {
					t.Fatalf("buggy=%v Take(%v) = %v, want %v", buggy, a, got, want)
				}
				delete(model, a)
			case 1:
				want := !model[a] && !(buggy && isBuggy(a))
				if got := s.Give(a); got != want {
					t.Fatalf("buggy=%v Give(%v) = %v, want %v", buggy, a, got, want)
				}
				if want {
					model[a] = true
				}
			case 2:
				m, ok := s.Min()
				var want netip.Addr
				for x := range model {
					if !want.IsValid() || x.Less(want) {
						want = x
					}
				}
				if ok != want.IsValid() || m != want {
					t.Fatalf("Min = %v %v, want %v", m, ok, want)
				}
			}
			if s.free != (count{lo: uint64(len(model))}) {
				t.Fatalf("free = %v, model has %d", s.free, len(model))
			}
			if i%97 == 0 {
				checkFreeSet(t, s)
			}
		}
	}
}

func TestFreeSetBuggyTrim(t *testing.T) {
	s := newFreeSet(true)
	s.Add(netip.MustParseAddr("198.18.0.255"), netip.MustParseAddr("198.18.1.0"))
	if s.intervals != 0 || !s.free.isZero() {
		t.Fatalf("only-buggy range left %d intervals, %v free", s.intervals, s.free)
	}
	s.Add(netip.MustParseAddr("198.18.0.254"), netip.MustParseAddr("198.18.0.254"))
	s.Add(netip.MustParseAddr("198.18.1.1"), netip.MustParseAddr("198.18.1.1"))
	if s.intervals != 1 {
		t.Fatalf(".254 and .1 across a buggy gap not merged: %d intervals", s.intervals)
	}
	checkFreeSet(t, s)
}

func TestBuggyIn(t *testing.T) {
	for _, c := range []struct {
		r    string
		want uint64
	}{
		{"198.18.0.1-198.18.0.254", 0},
		{"198.18.0.0/24", 2},
		{"198.18.0.255-198.18.1.0", 2},
		{"198.16.0.0/12", 2 << 12},
		{"0.0.0.0/0", 2 << 24},
		{"255.255.255.255", 1},
		{"0.0.0.0", 1},
	} {
		r := addr.MustParseRange(c.r)
		if got := buggyIn(r.First, r.Last); got != c.want {
			t.Errorf("buggyIn(%s) = %d, want %d", c.r, got, c.want)
		}
	}
}

func TestFreeSetIPv6Edges(t *testing.T) {
	s := newFreeSet(false)
	r := addr.MustParseRange("ffff:ffff:ffff:ffff::/64")
	s.Add(r.First, r.Last)
	if s.free.uint64() != ^uint64(0) || s.free.hi != 1 {
		t.Fatalf("free of a /64 = %+v", s.free)
	}
	if !s.Take(r.Last) || s.Give(r.Last) == false {
		t.Fatalf("take/give of the last address failed")
	}
	checkFreeSet(t, s)
}
