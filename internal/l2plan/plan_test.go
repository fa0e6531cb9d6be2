package l2plan

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

func cfg(t testing.TB, advs ...v1beta1.L2Advertisement) *config.Config {
	t.Helper()
	c, ps := config.Build(config.Input{
		Pools: []v1beta1.IPAddressPool{{
			ObjectMeta: metav1.ObjectMeta{Name: "p"},
			Spec:       v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.30.0/24", "2001:db8:30::/64"}},
		}},
		L2Advertisements: advs,
	})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	return c
}

func adv(name string, mut func(*v1beta1.L2Advertisement)) v1beta1.L2Advertisement {
	a := v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if mut != nil {
		mut(&a)
	}
	return a
}

var three = []eligibility.Node{{Name: "n1", Alive: true}, {Name: "n2", Alive: true}, {Name: "n3", Alive: true}}

func ready(nodes ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range nodes {
		m[n] = true
	}
	return m
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestEligibility(t *testing.T) {
	c := cfg(t, adv("all", nil))
	for _, tc := range []struct {
		name   string
		nodes  []eligibility.Node
		svc    eligibility.Service
		want   []string // allowed winners
		reason string
	}{
		{"any node", three, eligibility.Service{IPs: []netip.Addr{ip("198.18.30.1")}, ReadyNodes: ready("n1")}, []string{"n1", "n2", "n3"}, ""},
		{"local policy", three, eligibility.Service{IPs: []netip.Addr{ip("198.18.30.2")}, Local: true, ReadyNodes: ready("n2")}, []string{"n2"}, ""},
		{"no endpoints", three, eligibility.Service{IPs: []netip.Addr{ip("198.18.30.3")}}, nil, "no ready endpoints"},
		{"dead and excluded", []eligibility.Node{{Name: "n1"}, {Name: "n2", Alive: true, Labels: map[string]string{eligibility.ExcludeLabel: ""}}, {Name: "n3", Alive: true, NetworkUnavailable: true}},
			eligibility.Service{IPs: []netip.Addr{ip("198.18.30.4")}, ReadyNodes: ready("n1")}, nil, "not alive"},
		{"out of pool", three, eligibility.Service{IPs: []netip.Addr{ip("198.18.99.1")}, ReadyNodes: ready("n1")}, nil, "in no IPAddressPool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.svc.Key = "ns/" + tc.name
			d := plan(c, tc.nodes, []eligibility.Service{tc.svc})[tc.svc.IPs[0]]
			if tc.want == nil {
				if d.Node != "" || !strings.Contains(d.Refusal.Message, tc.reason) {
					t.Fatalf("got %+v, want nobody because %q", d, tc.reason)
				}
				return
			}
			ok := false
			for _, w := range tc.want {
				ok = ok || d.Node == w
			}
			if !ok {
				t.Fatalf("winner %q not in %v", d.Node, tc.want)
			}
		})
	}
}

func TestNodeSelectorsAndInterfaces(t *testing.T) {
	c := cfg(t,
		adv("rack-a", func(a *v1beta1.L2Advertisement) {
			a.Spec.NodeSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "a"}}}
			a.Spec.Interfaces = []string{"eth1"}
		}))
	nodes := []eligibility.Node{{Name: "n1", Alive: true, Labels: map[string]string{"rack": "b"}}, {Name: "n2", Alive: true, Labels: map[string]string{"rack": "a"}}}
	d := plan(c, nodes, []eligibility.Service{{Key: "ns/s", IPs: []netip.Addr{ip("198.18.30.9")}, ReadyNodes: ready("n1")}})[ip("198.18.30.9")]
	if d.Node != "n2" || len(d.Interfaces) != 1 || d.Interfaces[0] != "eth1" {
		t.Fatalf("%+v", d)
	}
}

// Services sharing an IP are announced by one node: a node that cannot
// serve one of them (Local policy) cannot announce the IP.
func TestSharedIPOneNode(t *testing.T) {
	c := cfg(t, adv("all", nil))
	shared := ip("198.18.30.10")
	d := plan(c, three, []eligibility.Service{
		{Key: "ns/a", IPs: []netip.Addr{shared}, Local: true, ReadyNodes: ready("n3")},
		{Key: "ns/b", IPs: []netip.Addr{shared}, Local: true, ReadyNodes: ready("n3")},
	})[shared]
	if d.Node != "n3" || len(d.Services) != 2 {
		t.Fatalf("%+v", d)
	}
}

func TestSpreadAndDeterminism(t *testing.T) {
	c := cfg(t, adv("all", nil))
	var svcs []eligibility.Service
	for i := 0; i < 30; i++ {
		svcs = append(svcs, eligibility.Service{Key: fmt.Sprintf("ns/s%d", i), IPs: []netip.Addr{ip(fmt.Sprintf("198.18.30.%d", 20+i))}, ReadyNodes: ready("n1")})
	}
	a := plan(c, three, svcs)
	rev := make([]eligibility.Service, len(svcs))
	for i := range svcs {
		rev[len(svcs)-1-i] = svcs[i]
	}
	b := plan(c, []eligibility.Node{three[2], three[0], three[1]}, rev)
	count := map[string]int{}
	for k, d := range a {
		if b[k].Node != d.Node {
			t.Fatalf("%s: %s vs %s depending on input order", k, d.Node, b[k].Node)
		}
		count[d.Node]++
	}
	for n, c := range count {
		if c > 12 {
			t.Fatalf("node %s announces %d of 30", n, c)
		}
	}
}

func plan(c *config.Config, nodes []eligibility.Node, svcs []eligibility.Service) map[netip.Addr]Decision {
	return Compute(Input{Config: c, Nodes: nodes, Services: svcs}).Decisions
}
