package allocator

import (
	"fmt"
	"testing"

	"github.com/barelb/barelb/internal/addr"
)

// benchAllocator returns an allocator whose pool holds n assignments with
// free space fragmented into about n holes: 2n Services are assigned and
// every other one released, which is the worst case for the free-interval
// tree (one interval per hole).
func benchAllocator(b *testing.B, pool Pool, fams []addr.Family, policy FamilyPolicy, n int) *Allocator {
	b.Helper()
	a := newAlloc(b, pool)
	for i := 0; i < 2*n; i++ {
		if _, err := a.Assign(Request{Key: fmt.Sprintf("ns/e%d", i), Families: fams, Policy: policy}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < 2*n; i += 2 {
		a.Release(fmt.Sprintf("ns/e%d", i))
	}
	return a
}

var benchSizes = []int{10, 1000, 100000}

// BenchmarkAssign measures one allocation plus its release with n
// existing allocations; the per-op cost must stay flat as n grows.
func BenchmarkAssign(b *testing.B) {
	for _, c := range []struct {
		name string
		pool Pool
		fams []addr.Family
	}{
		{"ipv4-slash12", auto("p", "198.16.0.0/12"), v4},
		{"ipv6-slash64", auto("p", "2001:db8::/64"), v6},
	} {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/existing=%d", c.name, n), func(b *testing.B) {
				a := benchAllocator(b, c.pool, c.fams, SingleStack, n)
				req := Request{Key: "ns/bench", Families: c.fams}
				b.ReportAllocs()
				for b.Loop() {
					if _, err := a.Assign(req); err != nil {
						b.Fatal(err)
					}
					a.Release(req.Key)
				}
			})
		}
	}
}

// BenchmarkAssignDualStack is BenchmarkAssign for a RequireDualStack
// Service taking one IPv4 and one IPv6 address from a dual-stack pool.
func BenchmarkAssignDualStack(b *testing.B) {
	pool := auto("p", "198.16.0.0/12", "2001:db8::/64")
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			a := benchAllocator(b, pool, v46, RequireDualStack, n)
			req := Request{Key: "ns/bench", Families: v46, Policy: RequireDualStack}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Assign(req); err != nil {
					b.Fatal(err)
				}
				a.Release(req.Key)
			}
		})
	}
}

// BenchmarkAssignRequested assigns a requested IP in the middle of a
// fragmented pool (split and merge of a free interval).
func BenchmarkAssignRequested(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			a := benchAllocator(b, auto("p", "198.16.0.0/12"), v4, SingleStack, n)
			want, _ := addr.Add(addr.MustParseRange("198.16.0.0/12").First, uint64(2*n+1000))
			req := Request{Key: "ns/bench", IPs: ips(want.String())}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Assign(req); err != nil {
					b.Fatal(err)
				}
				a.Release(req.Key)
			}
		})
	}
}

// BenchmarkReassert is the steady-state reconcile: Assign for a Service
// that already holds satisfying IPs.
func BenchmarkReassert(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			a := benchAllocator(b, auto("p", "198.16.0.0/12", "2001:db8::/64"), v46, RequireDualStack, n)
			req := Request{Key: "ns/e1", Families: v46, Policy: RequireDualStack}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Assign(req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSetPools measures a configuration change with n assignments
// kept (linear in n by design: every held IP is re-claimed).
func BenchmarkSetPools(b *testing.B) {
	pools := []Pool{auto("p", "198.16.0.0/12")}
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("existing=%d", n), func(b *testing.B) {
			a := benchAllocator(b, pools[0], v4, SingleStack, n)
			for b.Loop() {
				if err := a.SetPools(pools); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
