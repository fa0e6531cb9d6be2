package l2plan

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// world is a random cluster small enough to plan by the reference: pools
// of both families, advertisements with node and Service selectors,
// preferences and interfaces, nodes that are dead, excluded, settling or
// NetworkUnavailable, Services sharing IPs, dual-stack, Local, without
// endpoints, and an optional link-aware check.
type world struct {
	r     *rand.Rand
	cfg   *config.Config
	nodes []eligibility.Node
	svcs  []eligibility.Service
	links map[string]bool // node/ip down
}

func newWorld(seed uint64) *world {
	w := &world{r: rand.New(rand.NewPCG(seed, 7)), links: map[string]bool{}}
	w.cfg = w.config()
	for i := range 2 + w.r.IntN(12) {
		w.nodes = append(w.nodes, w.node(fmt.Sprintf("n%02d", i)))
	}
	for i := range 1 + w.r.IntN(40) {
		w.svcs = append(w.svcs, w.service(i))
	}
	return w
}

func (w *world) pick(xs ...string) string { return xs[w.r.IntN(len(xs))] }

func (w *world) selector(key string, vals ...string) metav1.LabelSelector {
	return metav1.LabelSelector{MatchLabels: map[string]string{key: w.pick(vals...)}}
}

func (w *world) config() *config.Config {
	in := config.Input{Pools: []v1beta1.IPAddressPool{
		{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.1.0/28", "2001:db8:1::/124"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.2.0/28", "2001:db8:2::/124"}}},
	}}
	for i := range w.r.IntN(5) {
		a := v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("adv%d", i)}}
		switch w.r.IntN(3) {
		case 0:
			a.Spec.IPAddressPools = []string{"a"}
		case 1:
			a.Spec.IPAddressPools = []string{"b"}
		}
		if w.r.IntN(3) == 0 {
			a.Spec.NodeSelectors = []metav1.LabelSelector{w.selector("zone", "x", "y")}
		}
		if w.r.IntN(4) == 0 {
			a.Spec.ServiceSelectors = []metav1.LabelSelector{w.selector("tier", "web", "db")}
		}
		if w.r.IntN(3) == 0 {
			a.Spec.PreferredNodeSelectors = []v1beta1.PreferredNodeSelector{{Weight: int32(1 + w.r.IntN(50)), Preference: w.selector("rack", "1", "2", "3")}}
		}
		if w.r.IntN(3) == 0 {
			a.Spec.Interfaces = []string{w.pick("eth0", "eth1")}
		}
		in.L2Advertisements = append(in.L2Advertisements, a)
	}
	c, ps := config.Build(in)
	if len(ps) > 0 {
		panic(ps.Error())
	}
	return c
}

func (w *world) node(name string) eligibility.Node {
	n := eligibility.Node{Name: name, Alive: w.r.IntN(6) > 0, Settling: w.r.IntN(6) == 0, NetworkUnavailable: w.r.IntN(15) == 0,
		Labels: map[string]string{"zone": w.pick("x", "y"), "rack": w.pick("1", "2", "3")}}
	if w.r.IntN(15) == 0 {
		n.Labels[eligibility.ExcludeLabel] = ""
	}
	return n
}

// addr returns one of few addresses, so that Services share some.
func (w *world) addr(v6 bool) netip.Addr {
	pool := w.pick("1", "2", "3") // 3 is in no pool
	if v6 {
		return netip.MustParseAddr(fmt.Sprintf("2001:db8:%s::%d", pool, w.r.IntN(6)))
	}
	return netip.MustParseAddr(fmt.Sprintf("198.18.%s.%d", pool, w.r.IntN(12)))
}

func (w *world) service(i int) eligibility.Service {
	s := eligibility.Service{Key: fmt.Sprintf("ns/s%02d", i), Local: w.r.IntN(4) == 0,
		Labels: map[string]string{"tier": w.pick("web", "db")}, ReadyNodes: map[string]bool{}}
	switch w.r.IntN(3) {
	case 0:
		s.IPs = []netip.Addr{w.addr(false)}
	case 1:
		s.IPs = []netip.Addr{w.addr(true)}
	default:
		s.IPs = []netip.Addr{w.addr(false), w.addr(true)}
	}
	if w.r.IntN(8) > 0 {
		for range 1 + w.r.IntN(4) {
			s.ReadyNodes[fmt.Sprintf("n%02d", w.r.IntN(16))] = true
		}
	}
	return s
}

func (w *world) carriers() func(string, netip.Addr, []string) ([]string, string) {
	return func(node string, ip netip.Addr, _ []string) ([]string, string) {
		if w.links[node+"/"+ip.String()] {
			return nil, "link down"
		}
		return []string{"eth0"}, ""
	}
}

// input is the world as one Input, with its carriers when linkAware.
func (w *world) input(linkAware bool) Input {
	in := Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs}
	if linkAware {
		in.Carriers = w.carriers()
	}
	return in
}

// setNode sets a random node of n00-n15 anew in the world and, if p is
// not nil, in p.
func (w *world) setNode(p *Planner) eligibility.Node {
	n := w.node(fmt.Sprintf("n%02d", w.r.IntN(16)))
	if i := slices.IndexFunc(w.nodes, func(x eligibility.Node) bool { return x.Name == n.Name }); i >= 0 {
		w.nodes[i] = n
	} else {
		w.nodes = append(w.nodes, n)
	}
	if p != nil {
		p.SetNode(n)
	}
	return n
}

// toggleReady flips one random node of n00-n15 in s's ready nodes, in a
// new map (the old one may be shared with a previous Input).
func (w *world) toggleReady(s *eligibility.Service) {
	s.ReadyNodes = maps.Clone(s.ReadyNodes)
	name := fmt.Sprintf("n%02d", w.r.IntN(16))
	if s.ReadyNodes[name] {
		delete(s.ReadyNodes, name)
	} else {
		if s.ReadyNodes == nil {
			s.ReadyNodes = map[string]bool{}
		}
		s.ReadyNodes[name] = true
	}
}

// serviceStep applies one random Service change to the world and to p
// through the delta API (k: 0 add, 1 delete, 2 change; an empty world
// always adds; next numbers new Services) and says what it did.
func (w *world) serviceStep(p *Planner, k int, next *int) string {
	switch {
	case k == 0 || len(w.svcs) == 0:
		s := w.service(*next)
		*next++
		w.svcs = append(w.svcs, s)
		p.SetService(s)
		return "add " + s.Key
	case k == 1:
		i := w.r.IntN(len(w.svcs))
		what := "delete " + w.svcs[i].Key
		p.DeleteService(w.svcs[i].Key)
		w.svcs = slices.Delete(w.svcs, i, i+1)
		return what
	default:
		i := w.r.IntN(len(w.svcs))
		s := w.service(i)
		s.Key = w.svcs[i].Key
		w.svcs[i] = s
		p.SetService(s)
		return "change " + s.Key
	}
}

// samePlan fails unless got has exactly want's IPs and decisions, every
// node's refusal (RefusalOf against the reference's full map) included.
func samePlan(t *testing.T, what string, nodes []eligibility.Node, got, want Plan) {
	t.Helper()
	if len(got.Decisions) != len(want.Decisions) {
		t.Fatalf("%s: %d decisions, want %d", what, len(got.Decisions), len(want.Decisions))
	}
	for ip, w := range want.Decisions {
		g, ok := got.Decisions[ip]
		if !ok {
			t.Fatalf("%s: %s missing", what, ip)
		}
		if g.Node != w.Node || !slices.Equal(g.Services, w.Services) || !slices.Equal(g.Interfaces, w.Interfaces) || g.Refusal != w.Refusal {
			t.Fatalf("%s: %s:\n got %+v %v %v %+v\nwant %+v %v %v %+v", what, ip, g.Node, g.Services, g.Interfaces, g.Refusal, w.Node, w.Services, w.Interfaces, w.Refusal)
		}
		for _, n := range nodes {
			if g.RefusalOf(n.Name) != w.RefusalOf(n.Name) {
				t.Fatalf("%s: %s node %s: refusal %+v, want %+v", what, ip, n.Name, g.RefusalOf(n.Name), w.RefusalOf(n.Name))
			}
		}
	}
}

// TestComputeMatchesReference: Compute (classes of IPs, the incremental
// election) gives the decisions of the reference implementation (every
// node checked for every IP, election.Assign) on random clusters.
func TestComputeMatchesReference(t *testing.T) {
	for seed := range uint64(600) {
		w := newWorld(seed)
		in := Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs}
		if seed%3 == 0 {
			for range 6 {
				w.links[w.pick("n00", "n01", "n02", "n03")+"/"+w.svcs[w.r.IntN(len(w.svcs))].IPs[0].String()] = true
			}
			in.Carriers = w.carriers()
		}
		samePlan(t, fmt.Sprintf("seed %d", seed), w.nodes, Compute(in), referenceCompute(in))
	}
}

// TestPlannerMatchesCompute applies random changes (Services added,
// changed, removed; nodes added, changed, removed) to one Planner and
// checks after each that its plan is what Compute returns on the same
// inputs, and what the reference returns.
func TestPlannerMatchesCompute(t *testing.T) {
	for seed := range uint64(150) {
		w := newWorld(seed)
		linkAware := seed%4 == 0
		p := NewPlanner(w.input(linkAware))
		next := len(w.svcs)
		for step := range 40 {
			var what string
			switch k := w.r.IntN(6); {
			case k <= 2 || len(w.svcs) == 0:
				what = w.serviceStep(p, k, &next)
			case k == 3:
				what = fmt.Sprintf("set node %+v", w.setNode(p))
			case k == 4 && len(w.nodes) > 0:
				i := w.r.IntN(len(w.nodes))
				what = "delete node " + w.nodes[i].Name
				p.DeleteNode(w.nodes[i].Name)
				w.nodes = slices.Delete(w.nodes, i, i+1)
			default:
				if len(w.nodes) == 0 {
					continue
				}
				// A node changes only its liveness or damping, the
				// common event.
				i := w.r.IntN(len(w.nodes))
				n := w.nodes[i]
				n.Alive, n.Settling = !n.Alive, w.r.IntN(2) == 0
				w.nodes[i] = n
				p.SetNode(n)
				what = fmt.Sprintf("flip node %s alive=%v settling=%v", n.Name, n.Alive, n.Settling)
			}
			now := w.input(linkAware)
			label := fmt.Sprintf("seed %d step %d (%s)", seed, step, what)
			samePlan(t, label, w.nodes, p.Plan(), Compute(now))
			samePlan(t, label+" vs reference", w.nodes, p.Plan(), referenceCompute(now))
		}
	}
}

// TestPlannerReset: a new configuration through Reset gives Compute's
// plan for it.
func TestPlannerReset(t *testing.T) {
	w := newWorld(3)
	p := NewPlanner(Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs})
	for seed := range uint64(20) {
		w.cfg = newWorld(seed + 100).cfg
		p.Reset(w.cfg, nil)
		samePlan(t, fmt.Sprintf("config %d", seed), w.nodes, p.Plan(), Compute(Input{Config: w.cfg, Nodes: w.nodes, Services: w.svcs}))
	}
}
