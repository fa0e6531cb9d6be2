package election

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/barelb/barelb/testsupport/cputime"
)

// scaleCase is one size of the scale benchmarks: every unit may go to
// every node (externalTrafficPolicy: Cluster, one L2Advertisement for all
// nodes) except one in a hundred, which has a ready endpoint on two nodes
// only (externalTrafficPolicy: Local).
type scaleCase struct{ nodes, units int }

var scaleCases = []scaleCase{{10, 1000}, {100, 10000}, {1000, 10000}, {1000, 50000}, {5000, 50000}}

func (c scaleCase) String() string { return fmt.Sprintf("nodes=%d/ips=%d", c.nodes, c.units) }

func (c scaleCase) nodeNames() []string {
	out := make([]string, c.nodes)
	for i := range out {
		out[i] = fmt.Sprintf("worker-%d.example", i)
	}
	return out
}

// key spells unit i as an IP, alternating IPv4 and IPv6 (a dual-stack
// mix).
func key(i int) string {
	if i%2 == 0 {
		return fmt.Sprintf("198.18.%d.%d", i/2/256, i/2%256)
	}
	return fmt.Sprintf("2001:db8::%x", i/2)
}

func (c scaleCase) unit(i int, nodes []string) Unit {
	u := Unit{Key: key(i), Group: "all"}
	if i%100 == 0 {
		u.Group, u.Candidates = "", []string{nodes[i%len(nodes)], nodes[(i*7+1)%len(nodes)]}
	}
	return u
}

func (c scaleCase) build() (*Election, []string) {
	nodes := c.nodeNames()
	e := New()
	e.SetGroup("all", nodes)
	for i := range c.units {
		e.SetUnit(c.unit(i, nodes))
	}
	e.Place()
	return e, nodes
}

// BenchmarkScaleFull is a cold election: every group and unit given to a
// new Election, then Place.
func BenchmarkScaleFull(b *testing.B) {
	for _, c := range scaleCases {
		b.Run(c.String(), func(b *testing.B) {
			if testing.Short() && c.units > 1000 {
				b.Skip("large")
			}
			cpu := cputime.Start()
			for b.Loop() {
				c.build()
			}
			cpu.Report(b)
		})
	}
}

// BenchmarkScaleServiceAdded is one new unit, then Place.
func BenchmarkScaleServiceAdded(b *testing.B) {
	for _, c := range scaleCases {
		b.Run(c.String(), func(b *testing.B) {
			if testing.Short() && c.units > 1000 {
				b.Skip("large")
			}
			e, nodes := c.build()
			i := c.units
			cpu := cputime.Start()
			for b.Loop() {
				e.SetUnit(c.unit(i, nodes))
				e.Place()
				b.StopTimer()
				cpu.Stop()
				e.DeleteUnit(key(i))
				e.Place()
				i++
				cpu.Start()
				b.StartTimer()
			}
			cpu.Report(b)
		})
	}
}

// BenchmarkScaleNodeGone is one node leaving the group every unit uses,
// then Place; it also reports how many units moved and the load spread,
// checked against the rendezvous property and the load bound.
func BenchmarkScaleNodeGone(b *testing.B) {
	for _, c := range scaleCases {
		b.Run(c.String(), func(b *testing.B) {
			if testing.Short() && c.units > 1000 {
				b.Skip("large")
			}
			e, nodes := c.build()
			var moved, owned, runs int
			j := 0
			cpu := cputime.Start()
			for b.Loop() {
				b.StopTimer()
				cpu.Stop()
				gone := nodes[j%len(nodes)]
				before := snapshot(e, c.units)
				rest := slices.DeleteFunc(slices.Clone(nodes), func(n string) bool { return n == gone })
				cpu.Start()
				b.StartTimer()
				e.SetGroup("all", rest)
				changed := e.Place()
				b.StopTimer()
				cpu.Stop()
				for _, w := range before {
					if w == gone {
						owned++
					}
				}
				moved += len(changed)
				runs++
				e.SetGroup("all", nodes)
				e.Place()
				j += 7
				cpu.Start()
				b.StartTimer()
			}
			cpu.Report(b)
			b.ReportMetric(float64(moved)/float64(runs), "moved/op")
			b.ReportMetric(float64(owned)/float64(runs), "leaver-held/op")
			b.ReportMetric(float64(moved)/float64(runs)/float64(c.units)*float64(c.nodes), "moved×N/ips")
			lo, hi := spread(e, c.units)
			b.ReportMetric(float64(lo), "min-load")
			b.ReportMetric(float64(hi), "max-load")
			b.ReportMetric(float64(capacity(c.units, c.nodes)), "load-bound")
			if hi > capacity(c.units, c.nodes) {
				b.Errorf("a node holds %d units, above the bound %d", hi, capacity(c.units, c.nodes))
			}
			// Rendezvous: what moves is about what the leaver held
			// (units/nodes); allow a few times that for the capacity shift.
			if per := float64(moved) / float64(runs); per > 4*math.Max(1, float64(c.units)/float64(c.nodes)) {
				b.Errorf("a node leaving moved %.1f units, want about %d", per, c.units/c.nodes)
			}
		})
	}
}

func snapshot(e *Election, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = e.Winner(key(i))
	}
	return out
}

// spread returns the least and most units a node holds, counting only the
// units every node may take (the Local ones are pinned to their two).
func spread(e *Election, n int) (lo, hi int) {
	load := map[string]int{}
	for nd := range e.groups["all"].members {
		load[nd.name] = 0
	}
	for i := range n {
		if i%100 != 0 {
			load[e.Winner(key(i))]++
		}
	}
	lo = math.MaxInt
	for _, l := range load {
		lo, hi = min(lo, l), max(hi, l)
	}
	return lo, hi
}

// TestScaleSmoke is the scale benchmarks' checks at a size that runs by
// default: nodes leaving one after another move about what they held, the
// load stays within the bound, and the incremental Election still answers
// what Assign answers from scratch.
func TestScaleSmoke(t *testing.T) {
	c := scaleCase{100, 3000}
	e, nodes := c.build()
	moved, held := 0, 0
	for j := range 10 {
		before := snapshot(e, c.units)
		for _, w := range before {
			if w == nodes[j] {
				held++
			}
		}
		e.SetGroup("all", nodes[j+1:])
		moved += len(e.Place())
	}
	t.Logf("10 nodes left one by one: %d IPs moved, they held %d", moved, held)
	if moved > 2*held {
		t.Errorf("%d IPs moved, want about the %d the leavers held", moved, held)
	}
	if lo, hi := spread(e, c.units); hi > capacity(c.units, c.nodes-10) {
		t.Errorf("load %d..%d, above the bound %d", lo, hi, capacity(c.units, c.nodes-10))
	}
	var in []Unit
	for i := range c.units {
		u := c.unit(i, nodes)
		if u.Group == "all" {
			u.Group, u.Candidates = "", nodes[10:]
		}
		in = append(in, u)
	}
	want := Assign(in)
	for k, w := range want {
		if e.Winner(k) != w {
			t.Fatalf("%s: the Election says %q, Assign %q", k, e.Winner(k), w)
		}
	}
}
