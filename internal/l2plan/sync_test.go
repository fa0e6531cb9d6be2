package l2plan

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/barelb/barelb/internal/eligibility"
)

// copied returns in with fresh copies of every map and slice, as a
// speaker's snapshot of unchanged objects brings (ready nodes rebuilt
// each pass): Sync must find them equal by content.
func copied(in Input) Input {
	out := in
	out.Nodes = slices.Clone(in.Nodes)
	for i := range out.Nodes {
		out.Nodes[i].Labels = maps.Clone(out.Nodes[i].Labels)
	}
	out.Services = slices.Clone(in.Services)
	for i := range out.Services {
		s := &out.Services[i]
		s.IPs, s.Labels, s.ReadyNodes = slices.Clone(s.IPs), maps.Clone(s.Labels), maps.Clone(s.ReadyNodes)
	}
	return out
}

// TestSyncMatchesCompute drives one Planner by Sync alone through random
// batches of changes (Services and nodes added, changed, removed, nodes
// reordered, duplicates, links going down, new configurations), each
// handed over as a whole new Input, and checks after each that its plan
// is Compute's on that Input.
func TestSyncMatchesCompute(t *testing.T) {
	var rebuilt, incremental, relinked int
	for seed := range uint64(150) {
		w := newWorld(seed)
		linkAware := seed%3 == 0
		input := func() Input { return w.input(linkAware) }
		p := NewPlanner(input())
		next := len(w.svcs)
		for step := range 30 {
			var what []string
			links := false
			for range 1 + w.r.IntN(3) {
				switch k := w.r.IntN(12); {
				case k == 0 || len(w.svcs) == 0:
					s := w.service(next)
					next++
					w.svcs = append(w.svcs, s)
					what = append(what, "add "+s.Key)
				case k == 1:
					i := w.r.IntN(len(w.svcs))
					what = append(what, "delete "+w.svcs[i].Key)
					w.svcs = slices.Delete(slices.Clone(w.svcs), i, i+1)
				case k == 2:
					i := w.r.IntN(len(w.svcs))
					s := w.service(i)
					s.Key = w.svcs[i].Key
					w.svcs = slices.Clone(w.svcs)
					w.svcs[i] = s
					what = append(what, "change "+s.Key)
				case k == 3:
					// Only the ready nodes change (an EndpointSlice).
					i := w.r.IntN(len(w.svcs))
					w.svcs = slices.Clone(w.svcs)
					s := &w.svcs[i]
					w.toggleReady(s)
					what = append(what, "endpoints of "+s.Key)
				case k == 4:
					// A duplicate key: the last one counts.
					i := w.r.IntN(len(w.svcs))
					s := w.service(i)
					s.Key = w.svcs[i].Key
					w.svcs = append(slices.Clone(w.svcs), s)
					what = append(what, "duplicate "+s.Key)
				case k == 5:
					n := w.node(fmt.Sprintf("n%02d", w.r.IntN(16)))
					w.nodes = slices.Clone(w.nodes)
					if i := slices.IndexFunc(w.nodes, func(x eligibility.Node) bool { return x.Name == n.Name }); i >= 0 {
						w.nodes[i] = n
					} else {
						// Anywhere, not only at the end.
						w.nodes = slices.Insert(w.nodes, w.r.IntN(len(w.nodes)+1), n)
					}
					what = append(what, "set node "+n.Name)
				case k == 6 && len(w.nodes) > 0:
					i := w.r.IntN(len(w.nodes))
					what = append(what, "delete node "+w.nodes[i].Name)
					w.nodes = slices.Delete(slices.Clone(w.nodes), i, i+1)
				case k == 7 && len(w.nodes) > 0:
					i := w.r.IntN(len(w.nodes))
					w.nodes = slices.Clone(w.nodes)
					n := &w.nodes[i]
					n.Alive, n.Settling = !n.Alive, w.r.IntN(2) == 0
					what = append(what, "flip node "+n.Name)
				case k == 8 && len(w.nodes) > 1:
					w.nodes = slices.Clone(w.nodes)
					w.r.Shuffle(len(w.nodes), func(i, j int) { w.nodes[i], w.nodes[j] = w.nodes[j], w.nodes[i] })
					what = append(what, "reorder nodes")
				case k == 9 && len(w.nodes) > 0:
					// A duplicate name: the first one counts.
					n := w.node(w.nodes[w.r.IntN(len(w.nodes))].Name)
					w.nodes = append(slices.Clone(w.nodes), n)
					what = append(what, "duplicate node "+n.Name)
				case k == 10:
					if linkAware {
						w.links[w.pick("n00", "n01", "n02", "n03")+"/"+w.svcs[w.r.IntN(len(w.svcs))].IPs[0].String()] = true
						links = true
						what = append(what, "link down")
					}
				case k == 11 && w.r.IntN(4) == 0:
					w.cfg = newWorld(seed*1000 + uint64(step)).cfg
					what = append(what, "new config")
				}
			}
			in := input()
			if w.r.IntN(2) == 0 {
				in = copied(in)
			}
			st := p.Sync(in, links)
			switch {
			case st.Rebuilt:
				rebuilt++
			case st.Changed():
				incremental++
			}
			if st.Relinked {
				relinked++
			}
			label := fmt.Sprintf("seed %d step %d %v (%+v)", seed, step, what, st)
			samePlan(t, label, in.Nodes, p.Plan(), Compute(in))
			// Nothing changed: nothing applied.
			if again := p.Sync(copied(in), false); again.Changed() {
				t.Fatalf("%s: the same input again applied %+v", label, again)
			}
		}
	}
	t.Logf("%d incremental syncs, %d rebuilds, %d relinks", incremental, rebuilt, relinked)
	if incremental < 10*rebuilt {
		t.Errorf("only %d of %d syncs incremental", incremental, incremental+rebuilt)
	}
}

// TestSyncRebuilds: many changes at once plan from scratch, and the plan
// is still Compute's.
func TestSyncRebuilds(t *testing.T) {
	w := newWorld(5)
	for len(w.svcs) < 40 {
		w.svcs = append(w.svcs, w.service(len(w.svcs)))
	}
	p := NewPlanner(Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs})
	for i := range w.svcs[:20] {
		w.svcs[i].Local = !w.svcs[i].Local
	}
	in := Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs}
	if st := p.Sync(in, false); !st.Rebuilt {
		t.Errorf("20 of 40 Services changed: %+v, want a rebuild", st)
	}
	samePlan(t, "rebuilt", in.Nodes, p.Plan(), Compute(in))
	// A configuration equal to the held one (built again) changes nothing.
	if st := p.Sync(Input{Config: newWorld(5).cfg, Nodes: w.nodes, Services: w.svcs}, false); st.Changed() {
		t.Errorf("the same configuration built again: %+v", st)
	}
}

// TestConfigKey: configurations that plan differently have different
// keys, and one built again from the same objects has the same.
func TestConfigKey(t *testing.T) {
	keys := map[string]uint64{}
	for seed := range uint64(200) {
		k := ConfigKey(newWorld(seed).cfg)
		if k != ConfigKey(newWorld(seed).cfg) {
			t.Fatalf("seed %d: the key differs when built again", seed)
		}
		if s, ok := keys[k]; ok {
			// Equal keys must mean equal plans.
			a, b := newWorld(seed), newWorld(s)
			in := Input{Config: a.cfg, Nodes: a.nodes, Services: a.svcs}
			samePlan(t, fmt.Sprintf("seeds %d and %d share a key", seed, s), a.nodes, Compute(Input{Config: b.cfg, Nodes: a.nodes, Services: a.svcs}), Compute(in))
		}
		keys[k] = seed
	}
	if len(keys) < 50 {
		t.Errorf("only %d keys for 200 random configurations", len(keys))
	}
	if ConfigKey(nil) != ConfigKey(newWorld(0).cfg) && ConfigKey(nil) != "" {
		t.Error("nil configuration")
	}
}

// TestDeltaMatchesCompute drives one Planner by the delta API alone
// (SetService, DeleteService, SetNode, DeleteNode), several calls between
// checks, through random changes: Services added, changed, removed, their
// ready nodes alone changed; nodes added, changed, flipped (alive,
// settling), removed and set back. After each batch its plan must be
// Compute's on the inputs it then holds (nodes in the order first set),
// and a Sync of those inputs must find nothing to apply. Most elections
// must be incremental.
func TestDeltaMatchesCompute(t *testing.T) {
	var full, incremental int
	for seed := range uint64(150) {
		w := newWorld(seed + 1000)
		linkAware := seed%4 == 0
		input := func() Input { return w.input(linkAware) }
		p := NewPlanner(input())
		next := len(w.svcs)
		var gone []eligibility.Node // nodes deleted, to set back
		for step := range 30 {
			var what []string
			for range 1 + w.r.IntN(4) {
				switch k := w.r.IntN(9); {
				case k <= 2 || len(w.svcs) == 0:
					what = append(what, w.serviceStep(p, k, &next))
				case k == 3:
					i := w.r.IntN(len(w.svcs))
					s := w.svcs[i]
					w.toggleReady(&s)
					w.svcs[i] = s
					p.SetService(s)
					what = append(what, "endpoints of "+s.Key)
				case k == 4:
					n := w.setNode(p)
					what = append(what, "set node "+n.Name)
				case k == 5 && len(w.nodes) > 0:
					i := w.r.IntN(len(w.nodes))
					gone = append(gone, w.nodes[i])
					what = append(what, "delete node "+w.nodes[i].Name)
					p.DeleteNode(w.nodes[i].Name)
					w.nodes = slices.Delete(w.nodes, i, i+1)
				case k == 6 && len(gone) > 0:
					// A node gone comes back as it was, unless it
					// was set again meanwhile.
					n := gone[len(gone)-1]
					gone = gone[:len(gone)-1]
					if slices.ContainsFunc(w.nodes, func(x eligibility.Node) bool { return x.Name == n.Name }) {
						continue
					}
					w.nodes = append(w.nodes, n)
					p.SetNode(n)
					what = append(what, "node back "+n.Name)
				case k == 7 && len(w.nodes) > 0:
					i := w.r.IntN(len(w.nodes))
					n := w.nodes[i]
					n.Alive, n.Settling = !n.Alive, w.r.IntN(2) == 0
					w.nodes[i] = n
					p.SetNode(n)
					what = append(what, "flip node "+n.Name)
				case k == 8:
					// Several Services' endpoints on one node at once
					// (a node's pods becoming ready).
					name := fmt.Sprintf("n%02d", w.r.IntN(16))
					for i := range w.svcs {
						if w.r.IntN(3) == 0 {
							s := w.svcs[i]
							s.ReadyNodes = maps.Clone(s.ReadyNodes)
							s.ReadyNodes[name] = true
							w.svcs[i] = s
							p.SetService(s)
						}
					}
					what = append(what, "endpoints on "+name)
				}
			}
			in := input()
			label := fmt.Sprintf("seed %d step %d %v", seed, step, what)
			samePlan(t, label, in.Nodes, p.Plan(), Compute(in))
			if st := p.Sync(copied(in), false); st.Changed() {
				t.Fatalf("%s: Sync of the inputs held applied %+v", label, st)
			}
		}
		st := p.ElectionStats()
		full += st.Full
		incremental += st.Incremental
	}
	t.Logf("elections: %d full, %d incremental", full, incremental)
	if incremental < 4*full {
		t.Errorf("%d full elections, %d incremental", full, incremental)
	}
}
