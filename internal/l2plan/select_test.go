package l2plan

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/eligibility"
)

func sel(kv ...string) []metav1.LabelSelector {
	return []metav1.LabelSelector{{MatchLabels: map[string]string{kv[0]: kv[1]}}}
}

// TestServiceSelectors: each Service gets exactly the advertisements that
// select it (their node selectors and interfaces); Services on one IP
// selected differently are refused, not split between nodes.
func TestServiceSelectors(t *testing.T) {
	c := cfg(t,
		adv("blue", func(a *v1beta1.L2Advertisement) {
			a.Spec.ServiceSelectors = sel("color", "blue")
			a.Spec.NodeSelectors = sel("rack", "a")
		}),
		adv("red", func(a *v1beta1.L2Advertisement) {
			a.Spec.ServiceSelectors = sel("color", "red")
			a.Spec.NodeSelectors = sel("rack", "b")
			a.Spec.Interfaces = []string{"eth1"}
		}))
	nodes := []eligibility.Node{
		{Name: "n1", Alive: true, Labels: map[string]string{"rack": "a"}},
		{Name: "n2", Alive: true, Labels: map[string]string{"rack": "b"}},
	}
	svc := func(key, addr, color string) eligibility.Service {
		s := eligibility.Service{Key: key, IPs: []netip.Addr{ip(addr)}, ReadyNodes: ready("n1", "n2")}
		if color != "" {
			s.Labels = map[string]string{"color": color}
		}
		return s
	}
	for _, tc := range []struct {
		name   string
		svcs   []eligibility.Service
		node   string
		ifaces []string
		reason eligibility.Reason
		msg    string
	}{
		{"blue gets blue's nodes", []eligibility.Service{svc("ns/b", "198.18.30.1", "blue")}, "n1", nil, "", ""},
		{"red gets red's nodes and interfaces", []eligibility.Service{svc("ns/r", "198.18.30.1", "red")}, "n2", []string{"eth1"}, "", ""},
		{"unselected", []eligibility.Service{svc("ns/x", "198.18.30.1", "")}, "", nil, eligibility.ReasonNoAdvertisement, "selects Service ns/x"},
		{"shared, same selection", []eligibility.Service{svc("ns/b1", "198.18.30.1", "blue"), svc("ns/b2", "198.18.30.1", "blue")}, "n1", nil, "", ""},
		{"shared, different selection", []eligibility.Service{svc("ns/r", "198.18.30.1", "red"), svc("ns/b", "198.18.30.1", "blue")}, "", nil,
			eligibility.ReasonSelectionDiffers, "Services ns/b and ns/r share the address but are selected by different L2Advertisements (blue; red)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := plan(c, nodes, tc.svcs)[ip("198.18.30.1")]
			if d.Node != tc.node || !slices.Equal(d.Interfaces, tc.ifaces) || d.Refusal.Reason != tc.reason || !strings.Contains(d.Refusal.Message, tc.msg) {
				t.Fatalf("got %+v, want node %q interfaces %v reason %q (%q)", d, tc.node, tc.ifaces, tc.reason, tc.msg)
			}
		})
	}
}

func pref(w int32, kv ...string) v1beta1.PreferredNodeSelector {
	return v1beta1.PreferredNodeSelector{Weight: w, Preference: metav1.LabelSelector{MatchLabels: map[string]string{kv[0]: kv[1]}}}
}

// TestPreferredNodes: the heaviest eligible tier wins; with it gone the
// next tier, then any eligible node; without preferences the spread is
// unchanged.
func TestPreferredNodes(t *testing.T) {
	c := cfg(t, adv("pref", func(a *v1beta1.L2Advertisement) {
		a.Spec.ServiceSelectors = sel("pref", "yes")
		a.Spec.PreferredNodeSelectors = []v1beta1.PreferredNodeSelector{pref(10, "zone", "a"), pref(50, "rack", "1")}
	}), adv("plain", func(a *v1beta1.L2Advertisement) { a.Spec.ServiceSelectors = sel("pref", "no") }))
	node := func(name string, alive bool, kv ...string) eligibility.Node {
		n := eligibility.Node{Name: name, Alive: alive, Labels: map[string]string{}}
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
		return n
	}
	all := func(alive map[string]bool) []eligibility.Node {
		return []eligibility.Node{
			node("both", alive["both"], "zone", "a", "rack", "1"), // 60
			node("rack", alive["rack"], "rack", "1"),              // 50
			node("zone1", alive["zone1"], "zone", "a"),            // 10
			node("zone2", alive["zone2"], "zone", "a"),            // 10
			node("none", alive["none"]),                           // 0
		}
	}
	up := func(names ...string) map[string]bool { return ready(names...) }
	for _, tc := range []struct {
		name  string
		alive map[string]bool
		want  []string
	}{
		{"heaviest wins", up("both", "rack", "zone1", "zone2", "none"), []string{"both"}},
		{"weights add up, not the best single match", up("both", "rack"), []string{"both"}},
		{"next tier when the heaviest is down", up("rack", "zone1", "none"), []string{"rack"}},
		{"a tier of two shares", up("zone1", "zone2", "none"), []string{"zone1", "zone2"}},
		{"falls back to any eligible node", up("none"), []string{"none"}},
		{"nobody", up(), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var svcs []eligibility.Service
			for i := 0; i < 20; i++ {
				svcs = append(svcs, eligibility.Service{Key: fmt.Sprintf("ns/s%d", i), IPs: []netip.Addr{ip(fmt.Sprintf("198.18.30.%d", i+1))},
					ReadyNodes: ready("none"), Labels: map[string]string{"pref": "yes"}})
			}
			got := map[string]bool{}
			for _, d := range plan(c, all(tc.alive), svcs) {
				if d.Node != "" {
					got[d.Node] = true
				}
			}
			var nodes []string
			for n := range got {
				nodes = append(nodes, n)
			}
			slices.Sort(nodes)
			if !slices.Equal(nodes, tc.want) {
				t.Fatalf("announcing nodes %v, want %v", nodes, tc.want)
			}
		})
	}
	// No preference: 30 IPs spread over the five nodes as before.
	var svcs []eligibility.Service
	for i := 0; i < 30; i++ {
		svcs = append(svcs, eligibility.Service{Key: fmt.Sprintf("ns/p%d", i), IPs: []netip.Addr{ip(fmt.Sprintf("198.18.30.%d", 100+i))},
			ReadyNodes: ready("none"), Labels: map[string]string{"pref": "no"}})
	}
	count := map[string]int{}
	for _, d := range plan(c, all(up("both", "rack", "zone1", "zone2", "none")), svcs) {
		count[d.Node]++
	}
	if len(count) != 5 {
		t.Fatalf("unpreferred IPs on %v, want all five nodes", count)
	}
	for n, k := range count {
		if k > 8 { // the election's cap: ceil(6/5 * 30/5) = 8
			t.Fatalf("node %s announces %d of 30", n, k)
		}
	}
}

// BenchmarkPreferredNodes plans 1000 IPs over 100 nodes whose labels
// match two weighted preferences, against the same plan without them.
func BenchmarkPreferredNodes(b *testing.B) {
	for _, withPref := range []bool{false, true} {
		b.Run(fmt.Sprintf("preferences=%v", withPref), func(b *testing.B) {
			c := cfg(b, adv("a", func(a *v1beta1.L2Advertisement) {
				if withPref {
					a.Spec.PreferredNodeSelectors = []v1beta1.PreferredNodeSelector{pref(10, "zone", "a"), pref(50, "rack", "1")}
				}
			}))
			var nodes []eligibility.Node
			for i := 0; i < 100; i++ {
				l := map[string]string{"zone": []string{"a", "b"}[i%2]}
				if i%10 == 0 {
					l["rack"] = "1"
				}
				nodes = append(nodes, eligibility.Node{Name: fmt.Sprintf("node-%03d", i), Alive: true, Labels: l})
			}
			var svcs []eligibility.Service
			for i := 0; i < 1000; i++ {
				svcs = append(svcs, eligibility.Service{Key: fmt.Sprintf("ns/s%d", i), IPs: []netip.Addr{ip(fmt.Sprintf("2001:db8:30::%x", i+1))}, ReadyNodes: ready("node-000")})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				Compute(Input{Config: c, Nodes: nodes, Services: svcs})
			}
		})
	}
}
