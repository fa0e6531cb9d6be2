package bgpplan_test

import (
	"fmt"
	"testing"

	"github.com/barelb/barelb/internal/bgpplan"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/testsupport/scale"
)

// BenchmarkScaleCompute is one speaker's BGP plan with n nodes and m
// Services, then the same after one Service added and after one node
// gone: Compute has no incremental form, so both cost a full plan.
func BenchmarkScaleCompute(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, sz := range []struct{ nodes, services int }{
			{10, 1000}, {100, 10000}, {1000, 10000}, {5000, 10000}, {5000, 50000},
		} {
			if mix != scale.Dual && sz.services != 50000 {
				continue // single-stack mixes at the largest size only
			}
			nodes := scale.Nodes(sz.nodes)
			in := bgpplan.Input{Config: scale.Config(), Node: scale.NodeName(0), Nodes: nodes, Services: mix.Services(sz.services, sz.nodes)}
			name := fmt.Sprintf("%s/nodes=%d/services=%d", mix, sz.nodes, sz.services)
			run := func(b *testing.B, in bgpplan.Input) {
				b.ReportAllocs()
				for b.Loop() {
					if p := bgpplan.Compute(in); len(p.Advertisements) == 0 {
						b.Fatal("nothing advertised")
					}
				}
			}
			b.Run("full/"+name, func(b *testing.B) { run(b, in) })
			b.Run("service-added/"+name, func(b *testing.B) {
				more := in
				more.Services = append(in.Services[:len(in.Services):len(in.Services)], mix.Service(sz.services, sz.nodes))
				run(b, more)
			})
			b.Run("node-gone/"+name, func(b *testing.B) {
				fewer := in
				fewer.Nodes = append([]eligibility.Node(nil), nodes...)
				fewer.Nodes[len(nodes)-1].Alive = false
				run(b, fewer)
			})
		}
	}
}
