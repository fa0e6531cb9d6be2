package l2plan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/eligibility"
)

// Link-aware election: Carriers refuses a node whose LAN link is down,
// and the IP goes to another node; the interfaces Carriers is asked about
// are those the node's L2Advertisements allow.
func TestCarriers(t *testing.T) {
	a := ip("198.18.30.40")
	for _, tc := range []struct {
		name   string
		ifaces []string // the L2Advertisement's interfaces
		down   map[string]bool
		want   []string // allowed winners; nil: nobody
		reason string
	}{
		{"all up", nil, nil, []string{"n1", "n2", "n3"}, ""},
		{"one link down", nil, map[string]bool{"n1": true}, []string{"n2", "n3"}, ""},
		{"two down", []string{"eth1"}, map[string]bool{"n1": true, "n3": true}, []string{"n2"}, ""},
		{"all down", nil, map[string]bool{"n1": true, "n2": true, "n3": true}, nil, "cannot carry 198.18.30.40: link down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg(t, adv("a", func(l *v1beta1.L2Advertisement) { l.Spec.Interfaces = tc.ifaces }))
			var asked [][]string
			carriers := func(node string, got netip.Addr, ifaces []string) ([]string, string) {
				if got != a {
					t.Errorf("asked about %s", got)
				}
				asked = append(asked, ifaces)
				if tc.down[node] {
					return nil, "link down"
				}
				return []string{"eth1"}, ""
			}
			p := Compute(Input{Config: c, Nodes: three, Carriers: carriers,
				Services: []eligibility.Service{{Key: "ns/s", IPs: []netip.Addr{a}, ReadyNodes: ready("n1")}}})
			d := p.Decisions[a]
			for _, got := range asked {
				if !slices.Equal(got, tc.ifaces) {
					t.Fatalf("Carriers asked with interfaces %v, want the advertisement's %v", got, tc.ifaces)
				}
			}
			if tc.want == nil {
				if d.Node != "" || d.Refusal.Reason != eligibility.ReasonNoNodeEligible || !strings.Contains(d.Refusal.Message, tc.reason) {
					t.Fatalf("got %+v, want nobody because %q", d, tc.reason)
				}
				return
			}
			if !slices.Contains(tc.want, d.Node) {
				t.Fatalf("winner %q not in %v", d.Node, tc.want)
			}
			for n := range tc.down {
				if r := d.Refused[n]; r.Reason != eligibility.ReasonInterfaceDown {
					t.Fatalf("node %s refused with %+v, want %s", n, r, eligibility.ReasonInterfaceDown)
				}
			}
		})
	}
}

// A node the link check refuses keeps its earlier reasons first: a dead
// node is NodeNotAlive, not InterfaceDown, and Carriers is not asked.
func TestCarriersAfterLiveness(t *testing.T) {
	c := cfg(t, adv("all", nil))
	a := ip("198.18.30.41")
	nodes := []eligibility.Node{{Name: "n1"}, {Name: "n2", Alive: true}}
	p := Compute(Input{Config: c, Nodes: nodes,
		Carriers: func(node string, _ netip.Addr, _ []string) ([]string, string) {
			if node == "n1" {
				t.Errorf("Carriers asked about a dead node")
			}
			return nil, "link down"
		},
		Services: []eligibility.Service{{Key: "ns/s", IPs: []netip.Addr{a}, ReadyNodes: ready("n1")}}})
	d := p.Decisions[a]
	if d.Refused["n1"].Reason != eligibility.ReasonNodeNotAlive || d.Refused["n2"].Reason != eligibility.ReasonInterfaceDown {
		t.Fatalf("refusals %+v", d.Refused)
	}
}
