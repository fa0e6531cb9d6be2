package l2plan_test

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/internal/l2plan"
	"github.com/barelb/barelb/testsupport/scale"
)

// l2Sizes is the grid of BenchmarkScalePlan. Plan builds one candidate
// list per IP over every node, so its cost and memory grow with IPs ×
// nodes; 50,000 Services on 5,000 nodes is 250 million candidate entries
// (several GB), which is skipped with that reason rather than run:
// internal/election's BenchmarkScaleFull measures the election alone at
// that size.
var l2Sizes = []struct{ nodes, services int }{
	{10, 1000}, {100, 1000}, {100, 10000}, {1000, 1000}, {1000, 10000}, {5000, 1000}, {5000, 50000},
}

const maxPairs = 20_000_000

func plan(b *testing.B, nodes []eligibility.Node, svcs []eligibility.Service) map[netip.Addr]l2plan.Decision {
	out := l2plan.Compute(l2plan.Input{Config: scale.Config(), Nodes: nodes, Services: svcs}).Decisions
	if len(out) == 0 {
		b.Fatal("empty plan")
	}
	return out
}

// BenchmarkScalePlan is the full layer 2 plan each speaker computes, then
// the same after one Service added and after one node gone: Plan has no
// incremental form, so both cost a full plan.
func BenchmarkScalePlan(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, sz := range l2Sizes {
			if mix != scale.Dual && sz.services != 10000 {
				continue // single-stack mixes at one size per node count
			}
			nodes, svcs := scale.Nodes(sz.nodes), mix.Services(sz.services, sz.nodes)
			name := fmt.Sprintf("%s/nodes=%d/services=%d", mix, sz.nodes, sz.services)
			skip := func(b *testing.B) {
				if sz.nodes*sz.services > maxPairs {
					b.Skipf("%d Services × nodes: Plan is O(IPs × nodes) in time and memory (a candidate list over every node per IP)", sz.nodes*sz.services)
				}
			}
			b.Run("full/"+name, func(b *testing.B) {
				skip(b)
				b.ReportAllocs()
				for b.Loop() {
					plan(b, nodes, svcs)
				}
			})
			b.Run("service-added/"+name, func(b *testing.B) {
				skip(b)
				more := append(svcs[:len(svcs):len(svcs)], mix.Service(sz.services, sz.nodes))
				b.ReportAllocs()
				for b.Loop() {
					plan(b, nodes, more)
				}
			})
			b.Run("node-gone/"+name, func(b *testing.B) {
				skip(b)
				fewer := append([]eligibility.Node(nil), nodes...)
				fewer[len(fewer)/2].Alive = false
				before := plan(b, nodes, svcs)
				var after map[netip.Addr]l2plan.Decision
				b.ReportAllocs()
				for b.Loop() {
					after = plan(b, fewer, svcs)
				}
				moved := 0
				for ip, d := range before {
					if after[ip].Node != d.Node {
						moved++
					}
				}
				b.ReportMetric(float64(moved), "moved")
				b.ReportMetric(float64(moved)/float64(len(before))*float64(sz.nodes), "moved×N/ips")
			})
		}
	}
}
