package l2plan

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/testsupport/cputime"
	"github.com/barelb/barelb/testsupport/scale"
)

// scaleNodes and scaleServices span BenchmarkScalePlan's grid, each mix
// of address families at every size: 10 to 5,000 nodes, 1,000 to 50,000
// Services (the dual-stack mix has 4 IPs for every 3 Services).
var (
	scaleNodes    = []int{10, 100, 1000, 5000}
	scaleServices = []int{1000, 10000, 50000}
)

// refPairs bounds BenchmarkScalePlanReference: the reference (the plan
// before the Planner) is O(IPs × nodes) in time and memory.
const refPairs = 10_000_000

func scaleInput(mix scale.Mix, nodes, services int) Input {
	return Input{Config: scale.Config(), Nodes: scale.Nodes(nodes), Services: mix.Services(services, nodes)}
}

func scaleName(mix scale.Mix, nodes, services int) string {
	return fmt.Sprintf("%s/nodes=%d/services=%d", mix, nodes, services)
}

// BenchmarkScalePlan measures, per mix and size: the full plan (Compute,
// what a speaker does at start-up or after a configuration change), one
// Service added to a Planner holding the rest, and one node gone from it
// and back; the node benchmarks report how many IPs moved (moved×N/ips:
// 1 is the ideal of consistent hashing) and the load spread against the
// election's bound.
func BenchmarkScalePlan(b *testing.B) {
	for _, mix := range scale.Mixes {
		for _, nodes := range scaleNodes {
			for _, services := range scaleServices {
				name := scaleName(mix, nodes, services)
				in := scaleInput(mix, nodes, services)
				b.Run("full/"+name, func(b *testing.B) { spreadMetrics(b, in.Nodes, fullPlan(b, in)) })
				if testing.Short() && services > 1000 {
					continue
				}
				// One Planner for the three, built by the first that runs.
				var p *Planner
				planner := func() *Planner {
					if p == nil {
						p = NewPlanner(in)
					}
					return p
				}
				b.Run("service-added/"+name, func(b *testing.B) { serviceAdded(b, planner(), mix, nodes, services) })
				b.Run("node-gone/"+name, func(b *testing.B) { nodeChange(b, planner(), in.Nodes, true) })
				b.Run("node-added/"+name, func(b *testing.B) { nodeChange(b, planner(), in.Nodes, false) })
			}
		}
	}
}

// fullPlan times Compute and returns its last plan.
func fullPlan(b *testing.B, in Input) map[netip.Addr]Decision {
	b.ReportAllocs()
	cpu := cputime.Start()
	var d map[netip.Addr]Decision
	for b.Loop() {
		d = Compute(in).Decisions
	}
	cpu.Report(b)
	b.ReportMetric(float64(len(d)), "ips")
	return d
}

// serviceAdded times SetService of a new Service (removed again untimed).
// The new Services' numbers cycle through the 10,000 after the held ones,
// so that their addresses stay within the pools however many runs.
func serviceAdded(b *testing.B, p *Planner, mix scale.Mix, nodes, services int) {
	b.ReportAllocs()
	i := services
	cpu := cputime.Start()
	for b.Loop() {
		s := mix.Service(i, nodes)
		p.SetService(s)
		b.StopTimer()
		cpu.Stop()
		if p.Plan().Decisions[s.IPs[0]].Node == "" && !s.Local {
			b.Fatal("new Service not announced")
		}
		p.DeleteService(s.Key)
		if i++; i == services+10000 {
			i = services
		}
		cpu.Start()
		b.StartTimer()
	}
	cpu.Report(b)
}

// nodeChange times DeleteNode (gone) or SetNode back (added) of a node
// every IP may use, and counts the IPs whose announcer changed.
func nodeChange(b *testing.B, p *Planner, nodes []eligibility.Node, gone bool) {
	b.ReportAllocs()
	var moved, runs int
	j := 0
	cpu := cputime.Start()
	for b.Loop() {
		b.StopTimer()
		cpu.Stop()
		n := nodes[j%len(nodes)]
		j += 7
		if !gone {
			p.DeleteNode(n.Name)
		}
		before := winners(p)
		cpu.Start()
		b.StartTimer()
		if gone {
			p.DeleteNode(n.Name)
		} else {
			p.SetNode(n)
		}
		b.StopTimer()
		cpu.Stop()
		for ip, d := range p.Plan().Decisions {
			if before[ip] != d.Node {
				moved++
			}
		}
		runs++
		if gone {
			p.SetNode(n)
		}
		cpu.Start()
		b.StartTimer()
	}
	cpu.Report(b)
	ips := len(p.Plan().Decisions)
	b.ReportMetric(float64(moved)/float64(runs), "moved/op")
	b.ReportMetric(float64(moved)/float64(runs)/float64(ips)*float64(len(nodes)), "moved×N/ips")
}

func winners(p *Planner) map[netip.Addr]string {
	out := make(map[netip.Addr]string, len(p.Plan().Decisions))
	for ip, d := range p.Plan().Decisions {
		out[ip] = d.Node
	}
	return out
}

// spreadMetrics reports the IPs a node announces (max and average over
// the nodes) and the election's bound on them: a dual-stack Service's two
// IPs are one unit, so the bound is ceil(6/5 · units / nodes) in units,
// at most twice that in IPs; the check counts units.
func spreadMetrics(b *testing.B, nodes []eligibility.Node, d map[netip.Addr]Decision) {
	units := map[string]int{}
	seen := map[string]bool{}
	total := 0
	for _, x := range d {
		if x.Node == "" {
			continue
		}
		// One unit per Service here: the scale mix shares no IPs.
		if k := x.Services[0]; !seen[k] {
			seen[k] = true
			units[x.Node]++
			total++
		}
	}
	hi := 0
	for _, n := range units {
		hi = max(hi, n)
	}
	bound := (total*6 + 5*len(nodes) - 1) / (5 * len(nodes))
	b.ReportMetric(float64(hi), "max-load")
	b.ReportMetric(float64(total)/float64(len(nodes)), "avg-load")
	b.ReportMetric(float64(bound), "load-bound")
	if hi > bound {
		b.Errorf("a node announces %d units, above the bound %d", hi, bound)
	}
}

// BenchmarkScalePlanReference is the plan before the Planner (a candidate
// list over every node per IP, election.Assign from scratch), for the
// figures before and after; sizes above refPairs IPs × nodes are skipped.
func BenchmarkScalePlanReference(b *testing.B) {
	for _, nodes := range scaleNodes {
		for _, services := range scaleServices {
			b.Run(scaleName(scale.Dual, nodes, services), func(b *testing.B) {
				if nodes*services > refPairs {
					b.Skipf("%d Services × nodes: the reference is O(IPs × nodes) in time and memory", nodes*services)
				}
				in := scaleInput(scale.Dual, nodes, services)
				b.ReportAllocs()
				cpu := cputime.Start()
				for b.Loop() {
					referenceCompute(in)
				}
				cpu.Report(b)
			})
		}
	}
}

// TestPlannerScaleSmoke checks the benchmark's inputs on one mid size:
// the Planner after a node left and came back equals Compute.
func TestPlannerScaleSmoke(t *testing.T) {
	in := scaleInput(scale.Dual, 50, 2000)
	p := NewPlanner(in)
	gone := in.Nodes[17]
	p.DeleteNode(gone.Name)
	rest := slices.DeleteFunc(slices.Clone(in.Nodes), func(n eligibility.Node) bool { return n.Name == gone.Name })
	samePlan(t, "node gone", rest, p.Plan(), Compute(Input{Config: in.Config, Nodes: rest, Services: in.Services}))
	p.SetNode(gone)
	rest = append(rest, gone)
	samePlan(t, "node back", rest, p.Plan(), Compute(Input{Config: in.Config, Nodes: rest, Services: in.Services}))
}

// poolsInput is 10,000 Services over 100 pools of scale.ManyPools, each
// pool with its own L2Advertisement selecting one rack of 40 nodes (100
// classes of IPs instead of one), on 5,000 nodes: the first 16 Services of
// each pool dual-stack, the others IPv6, one in a hundred Local.
func poolsInput() Input {
	cfg, ps := config.Build(scale.ManyPools(100))
	if len(ps) > 0 {
		panic(ps.Error())
	}
	nodes := 5000
	base4, base6 := netip.MustParseAddr("198.18.0.0"), netip.MustParseAddr("2001:db8:5ca1::")
	svcs := scale.IPv6.Services(10000, nodes)
	for i := range svcs {
		pool, idx := i%100, i/100
		v6, _ := addr.Add(base6, uint64(pool*256+idx))
		svcs[i].IPs = []netip.Addr{v6}
		if idx < 16 {
			v4, _ := addr.Add(base4, uint64(pool*16+idx))
			svcs[i].IPs = []netip.Addr{v4, v6}
		}
	}
	return Input{Config: cfg, Nodes: scale.Nodes(nodes), Services: svcs}
}

// BenchmarkScalePlanPools is BenchmarkScalePlan's full plan and changes
// for poolsInput: the Planner's node checks and groups are per class.
func BenchmarkScalePlanPools(b *testing.B) {
	in := poolsInput()
	name := "pools=100/nodes=5000/services=10000"
	b.Run("full/"+name, func(b *testing.B) {
		d := fullPlan(b, in)
		// Every IP of a Service without a Local endpoint in its rack.
		for ip, x := range d {
			if x.Node == "" && x.Refusal.Reason != eligibility.ReasonNoNodeEligible {
				b.Fatalf("%s not announced: %v", ip, x.Refusal)
			}
		}
	})
	p := NewPlanner(in)
	b.Run("service-added/"+name, func(b *testing.B) { serviceAdded(b, p, scale.IPv6, 5000, 10000) })
	b.Run("node-gone/"+name, func(b *testing.B) { nodeChange(b, p, in.Nodes, true) })
}

// BenchmarkScaleSync measures the speaker's per-event path at 5,000 nodes
// and 50,000 Services: each event hands Sync a whole new Input, as the
// speaker's snapshot does, with the unchanged Services' and nodes' maps
// the same maps (the informer cache's labels; the speaker keeps ready
// nodes while the EndpointSlices keep their versions). compute is the
// path before Sync, a full plan per event; unchanged is an event that
// changes nothing this plan reads (a Service's status, a Node's
// heartbeat), and unchanged-ready-rebuilt the same with every Service's
// ready nodes in a new map (compared by content: the speaker without its
// cache of them); service-changed is one Service's ready nodes changed;
// node-gone and node-back are one node leaving the Input and coming back
// (in its place: the speaker's nodes are in name order). The -delta cases
// are the same events through the Planner's delta API (SetService,
// DeleteNode, SetNode), for a caller that knows what changed: no compare,
// only what the change touches; full-places/op counts the elections that
// fell back to placing every unit.
func BenchmarkScaleSync(b *testing.B) {
	nodes, services := 5000, 50000
	if testing.Short() {
		nodes, services = 100, 1000
	}
	for _, mix := range []scale.Mix{scale.IPv4, scale.Dual} {
		name := scaleName(mix, nodes, services)
		in := scaleInput(mix, nodes, services)
		b.Run("compute/"+name, func(b *testing.B) { fullPlan(b, in) })
		p := NewPlanner(in)
		same := func(int) Input { return in }
		b.Run("unchanged/"+name, func(b *testing.B) { syncEach(b, p, in, same, SyncStats{}) })
		b.Run("unchanged-ready-rebuilt/"+name, func(b *testing.B) {
			syncEach(b, p, in, func(int) Input { return readyRebuilt(in) }, SyncStats{})
		})
		b.Run("service-changed/"+name, func(b *testing.B) {
			syncEach(b, p, in, func(i int) Input {
				x := in
				x.Services = slices.Clone(in.Services)
				s := &x.Services[(i*7919)%len(x.Services)]
				s.ReadyNodes = map[string]bool{scale.NodeName((i + 1) % nodes): true}
				return x
			}, SyncStats{ServicesSet: 1})
		})
		b.Run("service-changed-delta/"+name, func(b *testing.B) {
			deltaEach(b, p, in, func(i int) (change, undo func()) {
				old := in.Services[(i*7919)%len(in.Services)]
				s := old
				s.ReadyNodes = map[string]bool{scale.NodeName((i + 1) % nodes): true}
				return func() { p.SetService(s) }, func() { p.SetService(old) }
			})
		})
		without := func(i int) Input {
			x := in
			j := (i * 7) % nodes
			x.Nodes = slices.Delete(slices.Clone(in.Nodes), j, j+1)
			return x
		}
		b.Run("node-gone/"+name, func(b *testing.B) { syncEach(b, p, in, without, SyncStats{NodesDeleted: 1}) })
		b.Run("node-gone-delta/"+name, func(b *testing.B) {
			deltaEach(b, p, in, func(i int) (change, undo func()) {
				n := in.Nodes[(i*7)%nodes]
				return func() { p.DeleteNode(n.Name) }, func() { p.SetNode(n) }
			})
		})
		b.Run("node-back/"+name, func(b *testing.B) {
			b.ReportAllocs()
			cpu := cputime.Start()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				cpu.Stop()
				p.Sync(without(i), false)
				cpu.Start()
				b.StartTimer()
				if st := p.Sync(in, false); st != (SyncStats{NodesSet: 1}) {
					b.Fatalf("applied %+v", st)
				}
			}
			cpu.Report(b)
		})
		b.Run("node-back-delta/"+name, func(b *testing.B) {
			deltaEach(b, p, in, func(i int) (change, undo func()) {
				n := in.Nodes[(i*7)%nodes]
				p.DeleteNode(n.Name) // untimed, before change
				return func() { p.SetNode(n) }, func() {}
			})
		})
	}
}

// deltaEach times change() of each event(i), then runs undo() and brings
// p back to in (the nodes' order too) untimed; it reports how many of
// the timed elections placed every unit (full-places/op) and checks,
// once at the end, that p's plan is Compute's.
func deltaEach(b *testing.B, p *Planner, in Input, event func(int) (change, undo func())) {
	b.ReportAllocs()
	full := p.ElectionStats().Full
	var fulls int
	cpu := cputime.Start()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cpu.Stop()
		change, undo := event(i)
		before := p.ElectionStats().Full
		cpu.Start()
		b.StartTimer()
		change()
		b.StopTimer()
		cpu.Stop()
		fulls += p.ElectionStats().Full - before
		undo()
		if st := p.Sync(in, false); st.Rebuilt || st.ServicesSet+st.ServicesDeleted+st.NodesSet+st.NodesDeleted > 0 {
			b.Fatalf("undone, Sync still applied %+v", st)
		}
		cpu.Start()
		b.StartTimer()
	}
	cpu.Report(b)
	b.ReportMetric(float64(fulls)/float64(b.N), "full-places/op")
	if p.ElectionStats().Full < full {
		b.Fatal("the Planner was rebuilt")
	}
	// The decisions (not every node's refusal: that is O(IPs × nodes)
	// here; TestPlannerMatchesCompute checks them at small sizes).
	want := Compute(in).Decisions
	got := p.Plan().Decisions
	if len(got) != len(want) {
		b.Fatalf("%d decisions, Compute has %d", len(got), len(want))
	}
	for ip, w := range want {
		if g := got[ip]; g.Node != w.Node || g.Refusal != w.Refusal || !slices.Equal(g.Services, w.Services) || !slices.Equal(g.Interfaces, w.Interfaces) {
			b.Fatalf("%s: %+v, Compute %+v", ip, g, w)
		}
	}
}

// syncEach times p.Sync(next(i)), which must apply want, and brings p
// back to in untimed.
func syncEach(b *testing.B, p *Planner, in Input, next func(int) Input, want SyncStats) {
	b.ReportAllocs()
	cpu := cputime.Start()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		cpu.Stop()
		x := next(i)
		cpu.Start()
		b.StartTimer()
		st := p.Sync(x, false)
		b.StopTimer()
		cpu.Stop()
		if st != want {
			b.Fatalf("applied %+v, want %+v", st, want)
		}
		p.Sync(in, false)
		cpu.Start()
		b.StartTimer()
	}
	cpu.Report(b)
}

// readyRebuilt is in with every Service's ready nodes in a new map, as
// the speaker's snapshot builds them from the EndpointSlices each pass.
func readyRebuilt(in Input) Input {
	out := in
	out.Services = slices.Clone(in.Services)
	for i := range out.Services {
		out.Services[i].ReadyNodes = maps.Clone(out.Services[i].ReadyNodes)
	}
	return out
}
