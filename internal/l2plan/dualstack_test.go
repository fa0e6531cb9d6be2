package l2plan

import (
	"fmt"
	"net/netip"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// Every IP of a dual-stack Service is announced by one node, and the
// spread still evens out across Services.
func TestDualStackOneNode(t *testing.T) {
	c := cfg(t, adv("all", nil))
	var svcs []eligibility.Service
	for i := 0; i < 30; i++ {
		svcs = append(svcs, eligibility.Service{Key: fmt.Sprintf("ns/ds%d", i), ReadyNodes: ready("n1"),
			IPs: []netip.Addr{ip(fmt.Sprintf("198.18.30.%d", 100+i)), ip(fmt.Sprintf("2001:db8:30::%x", 100+i))}})
	}
	plan := plan(c, three, svcs)
	perNode := map[string]int{}
	for _, s := range svcs {
		v4, v6 := plan[s.IPs[0]].Node, plan[s.IPs[1]].Node
		if v4 == "" || v4 != v6 {
			t.Fatalf("%s: IPv4 on %q, IPv6 on %q", s.Key, v4, v6)
		}
		perNode[v4]++
	}
	for n, k := range perNode {
		if k > 12 {
			t.Fatalf("node %s announces %d of 30 dual-stack Services: %v", n, k, perNode)
		}
	}
	if len(perNode) != 3 {
		t.Fatalf("spread over %d nodes: %v", len(perNode), perNode)
	}
}

// Services sharing an address are tied together with their other
// addresses: one node announces all of them.
func TestSharingJoinsGroups(t *testing.T) {
	c := cfg(t, adv("all", nil))
	shared := ip("198.18.30.200")
	d := plan(c, three, []eligibility.Service{
		{Key: "ns/a", IPs: []netip.Addr{shared, ip("2001:db8:30::a")}, ReadyNodes: ready("n1")},
		{Key: "ns/b", IPs: []netip.Addr{shared, ip("2001:db8:30::b")}, ReadyNodes: ready("n1")},
	})
	n := d[shared].Node
	if n == "" || d[ip("2001:db8:30::a")].Node != n || d[ip("2001:db8:30::b")].Node != n {
		t.Fatalf("not one node: %s %s %s", n, d[ip("2001:db8:30::a")].Node, d[ip("2001:db8:30::b")].Node)
	}
}

// When the families have no candidate in common (their pools are
// advertised from different nodes), each IP is still announced.
func TestDualStackWithoutCommonNodeSplits(t *testing.T) {
	c, ps := config.Build(config.Input{
		Pools: []v1beta1.IPAddressPool{
			{ObjectMeta: metav1.ObjectMeta{Name: "v4"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.31.0/24"}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "v6"}, Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"2001:db8:31::/64"}}},
		},
		L2Advertisements: []v1beta1.L2Advertisement{
			{ObjectMeta: metav1.ObjectMeta{Name: "a4"}, Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"v4"},
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": "n1"}}}}},
			{ObjectMeta: metav1.ObjectMeta{Name: "a6"}, Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"v6"},
				NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"kubernetes.io/hostname": "n2"}}}}},
		},
	})
	if len(ps) > 0 {
		t.Fatal(ps)
	}
	nodes := []eligibility.Node{
		{Name: "n1", Alive: true, Labels: map[string]string{"kubernetes.io/hostname": "n1"}},
		{Name: "n2", Alive: true, Labels: map[string]string{"kubernetes.io/hostname": "n2"}},
	}
	v4, v6 := ip("198.18.31.5"), ip("2001:db8:31::5")
	d := plan(c, nodes, []eligibility.Service{{Key: "ns/ds", IPs: []netip.Addr{v4, v6}, ReadyNodes: ready("n1", "n2")}})
	if d[v4].Node != "n1" || d[v6].Node != "n2" {
		t.Fatalf("IPv4 on %q, IPv6 on %q; want n1 and n2", d[v4].Node, d[v6].Node)
	}
}
