package allocator_test

import (
	"fmt"
	"testing"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/testsupport/scale"
)

var scaleServices = []int{1000, 10000, 50000}

func scalePool() []allocator.Pool {
	return []allocator.Pool{{
		Name:       scale.PoolName,
		Ranges:     []addr.Range{addr.MustParseRange(scale.PoolV4), addr.MustParseRange(scale.PoolV6)},
		AutoAssign: true,
	}}
}

func policy(fams []addr.Family) allocator.FamilyPolicy {
	if len(fams) == 2 {
		return allocator.RequireDualStack
	}
	return allocator.SingleStack
}

func newScaleAllocator(b *testing.B) *allocator.Allocator {
	a := allocator.New()
	if err := a.SetPools(scalePool()); err != nil {
		b.Fatal(err)
	}
	return a
}

// BenchmarkScaleRestore is a controller restart: n Services re-register
// the IPs their status holds.
func BenchmarkScaleRestore(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, n := range scaleServices {
			b.Run(fmt.Sprintf("%s/services=%d", mix, n), func(b *testing.B) {
				keys := make([]string, n)
				for i := range keys {
					keys[i] = fmt.Sprintf("ns/svc-%d", i)
				}
				b.ReportAllocs()
				for b.Loop() {
					a := newScaleAllocator(b)
					for i, k := range keys {
						if err := a.Restore(k, mix.IPs(i), allocator.Sharing{}); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkScaleAssignAll is a backlog: n pending Services assigned in a
// row into an empty pool.
func BenchmarkScaleAssignAll(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, n := range scaleServices {
			b.Run(fmt.Sprintf("%s/services=%d", mix, n), func(b *testing.B) {
				reqs := make([]allocator.Request, n)
				for i := range reqs {
					f := mix.Families(i)
					reqs[i] = allocator.Request{Key: fmt.Sprintf("ns/svc-%d", i), Families: f, Policy: policy(f)}
				}
				b.ReportAllocs()
				for b.Loop() {
					a := newScaleAllocator(b)
					for _, r := range reqs {
						if _, err := a.Assign(r); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
}

// BenchmarkScaleAssignOne is the incremental change: one Service added
// (and released again) with n held.
func BenchmarkScaleAssignOne(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, n := range scaleServices {
			b.Run(fmt.Sprintf("%s/services=%d", mix, n), func(b *testing.B) {
				a := newScaleAllocator(b)
				for i := range n {
					if err := a.Restore(fmt.Sprintf("ns/svc-%d", i), mix.IPs(i), allocator.Sharing{}); err != nil {
						b.Fatal(err)
					}
				}
				f := mix.Families(n + 2) // dual-stack in the dual mix
				req := allocator.Request{Key: "ns/new", Families: f, Policy: policy(f)}
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
