package l2plan

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/eligibility"
)

func services(n int, readyOn ...string) []eligibility.Service {
	out := make([]eligibility.Service, n)
	for i := range out {
		out[i] = eligibility.Service{
			Key:        fmt.Sprintf("ns/s%d", i),
			IPs:        []netip.Addr{netip.AddrFrom4([4]byte{198, 18, 30, byte(i + 1)})},
			ReadyNodes: ready(readyOn...),
		}
	}
	return out
}

func local(ss []eligibility.Service) []eligibility.Service {
	for i := range ss {
		ss[i].Local = true
	}
	return ss
}

// TestDamping: a settling node is elected only when no settled node is
// eligible, before preference; it is never refused.
func TestDamping(t *testing.T) {
	c := cfg(t, adv("all", nil))
	settling := func(nodes []eligibility.Node, names ...string) []eligibility.Node {
		out := append([]eligibility.Node(nil), nodes...)
		for i := range out {
			for _, n := range names {
				if out[i].Name == n {
					out[i].Settling = true
				}
			}
		}
		return out
	}
	svcs := services(60, "n1", "n2", "n3")
	for _, tc := range []struct {
		name  string
		nodes []eligibility.Node
		svcs  []eligibility.Service
		never string // never elected
		only  string // every IP on it
	}{
		{"settling node gets nothing while others are eligible", settling(three, "n3"), svcs, "n3", ""},
		{"all settling: election as usual", settling(three, "n1", "n2", "n3"), svcs, "", ""},
		{"settling node is the only eligible one", settling(three, "n1"), local(services(10, "n1")), "", "n1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(c, tc.nodes, tc.svcs)
			for a, d := range p {
				if d.Node == "" {
					t.Fatalf("%s not announced: %v", a, d.Refusal)
				}
				if tc.never != "" && d.Node == tc.never {
					t.Errorf("%s elected %s", a, d.Node)
				}
				if tc.only != "" && d.Node != tc.only {
					t.Errorf("%s elected %s, want %s", a, d.Node, tc.only)
				}
				if _, ok := d.Refused[tc.never]; ok {
					t.Errorf("%s: settling node refused: %v", a, d.Refused)
				}
			}
		})
	}

	t.Run("settling beats preference", func(t *testing.T) {
		c := cfg(t, adv("pref", func(a *v1beta1.L2Advertisement) {
			a.Spec.PreferredNodeSelectors = []v1beta1.PreferredNodeSelector{pref(50, "role", "edge")}
		}))
		nodes := []eligibility.Node{
			{Name: "n1", Alive: true, Labels: map[string]string{"role": "edge"}, Settling: true},
			{Name: "n2", Alive: true}, {Name: "n3", Alive: true},
		}
		for a, d := range plan(c, nodes, services(10, "n1", "n2", "n3")) {
			if d.Node == "n1" {
				t.Errorf("%s went to the settling preferred node", a)
			}
		}
		nodes[0].Settling = false
		for a, d := range plan(c, nodes, services(10, "n1", "n2", "n3")) {
			if d.Node != "n1" {
				t.Errorf("%s on %s once the preferred node settled, want n1", a, d.Node)
			}
		}
	})
}

// TestFlapMovesOncePerFlap replays a node flapping (gone, back and
// settling, gone again...) and counts how often each IP changes node:
// undamped every flap moves the node's IPs away and back (2 moves),
// damped they move away once and come back once when it settles.
func TestFlapMovesOncePerFlap(t *testing.T) {
	c := cfg(t, adv("all", nil))
	svcs := services(90, "n1", "n2", "n3")
	const flaps = 10
	moves := func(damped bool) (map[netip.Addr]int, map[netip.Addr]string) {
		nodes := append([]eligibility.Node(nil), three...)
		prev := map[netip.Addr]string{}
		for a, d := range plan(c, nodes, svcs) {
			prev[a] = d.Node
		}
		start := prev
		n := map[netip.Addr]int{}
		step := func() {
			for a, d := range plan(c, nodes, svcs) {
				if prev[a] != d.Node {
					n[a]++
				}
				prev[a] = d.Node
			}
		}
		for i := 0; i < flaps; i++ {
			nodes[2].Alive = false
			step()
			nodes[2].Alive, nodes[2].Settling = true, damped
			step()
		}
		nodes[2].Settling = false // stable at last
		step()
		for a := range prev {
			if prev[a] != start[a] {
				t.Errorf("damped=%v: %s ends on %s, started on %s: spread not restored", damped, a, prev[a], start[a])
			}
		}
		return n, start
	}
	undamped, start := moves(false)
	damped, _ := moves(true)
	for a, node := range start {
		if node != "n3" {
			if undamped[a] != 0 || damped[a] != 0 {
				t.Errorf("%s on %s moved (undamped %d, damped %d): only the flapping node's IPs should", a, node, undamped[a], damped[a])
			}
			continue
		}
		if undamped[a] != 2*flaps {
			t.Errorf("%s undamped: %d moves, want %d", a, undamped[a], 2*flaps)
		}
		if damped[a] != 2 {
			t.Errorf("%s damped: %d moves, want 2 (away on the first flap, back when settled)", a, damped[a])
		}
	}
}
