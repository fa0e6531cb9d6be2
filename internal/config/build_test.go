package config

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
)

func pool(name string, created int, addrs ...string) v1beta1.IPAddressPool {
	p := v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(time.Unix(int64(created), 0))}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func TestOverlapKeepsOlderPoolAndNamesBoth(t *testing.T) {
	c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{
		pool("new", 20, "198.18.0.128/25"),
		pool("old", 10, "198.18.0.0/24"),
		pool("other", 30, "198.18.1.0/24"),
	}})
	if _, ok := c.Pools["old"]; !ok {
		t.Fatal("older pool dropped")
	}
	if _, ok := c.Pools["new"]; ok {
		t.Fatal("newer overlapping pool kept")
	}
	if _, ok := c.Pools["other"]; !ok {
		t.Fatal("unrelated valid pool dropped because another is bad")
	}
	if len(ps) != 1 || ps[0].Name != "new" || !strings.Contains(ps[0].Message, `"old"`) {
		t.Fatalf("problems = %v", ps)
	}
}

func TestEveryProblemCollected(t *testing.T) {
	adv := v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}, Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"good", "missing"}}}
	bgp := v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: v1beta1.BGPAdvertisementSpec{
		IPAddressPools: []string{"good"}, Communities: []v1beta1.CommunityRef{"65000:70000", "no-such-alias", "named"}}}
	com := v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "named", Value: "large:1:2:3"}}}}
	c, ps := Build(Input{
		Pools:             []v1beta1.IPAddressPool{pool("good", 1, "198.18.0.0/24"), pool("inverted", 2, "198.18.5.9-198.18.5.1"), pool("mixed", 3, "198.18.6.1-2001:db8::1")},
		L2Advertisements:  []v1beta1.L2Advertisement{adv},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{bgp},
		Communities:       []v1beta1.Community{com},
	})
	want := map[string]string{
		"inverted": "after",
		"mixed":    "IPv4 and IPv6",
		"l2":       `"missing"`,
		"b":        "no-such-alias",
	}
	for name, frag := range want {
		found := false
		for _, p := range ps {
			if p.Name == name && strings.Contains(p.Message, frag) {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem for %s containing %q in %v", name, frag, ps)
		}
	}
	if len(c.L2Advertisements) != 1 || !c.L2Advertisements[0].Pools["good"] {
		t.Errorf("L2Advertisement lost its valid pool: %+v", c.L2Advertisements)
	}
	// An undefined alias holds the advertisement back rather than
	// applying it without that community.
	if len(c.BGPAdvertisements) != 0 || len(c.HeldBack) != 1 || c.HeldBack[0] != "b" {
		t.Errorf("advertisements %+v held back %v, want b held back", c.BGPAdvertisements, c.HeldBack)
	}
}

func TestEmptyAdvertisementCoversEveryPool(t *testing.T) {
	c, ps := Build(Input{
		Pools:            []v1beta1.IPAddressPool{pool("a", 1, "198.18.0.0/24"), pool("b", 1, "2001:db8::/64")},
		L2Advertisements: []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Name: "all"}}},
	})
	if len(ps) != 0 || len(c.L2Advertisements[0].Pools) != 2 {
		t.Fatalf("problems %v, pools %v", ps, c.L2Advertisements[0].Pools)
	}
}

func TestPoolSelectionRules(t *testing.T) {
	p := pool("p", 1, "198.18.0.0/24")
	p.Spec.AllocateTo = &v1beta1.ServiceAllocation{
		Priority:         5,
		Namespaces:       []string{"team-a"},
		ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "web"}}},
	}
	c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{p}})
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	m := c.Pools["p"]
	for _, tc := range []struct {
		ns   string
		svc  map[string]string
		want bool
	}{
		{"team-a", map[string]string{"tier": "web"}, true},
		{"team-b", map[string]string{"tier": "web"}, false},
		{"team-a", map[string]string{"tier": "db"}, false},
	} {
		if got := m.AllowsService(tc.ns, nil, tc.svc); got != tc.want {
			t.Errorf("AllowsService(%s, %v) = %v", tc.ns, tc.svc, got)
		}
	}
	if m.Priority != 5 || !m.AutoAssign {
		t.Errorf("priority %d autoAssign %v", m.Priority, m.AutoAssign)
	}
}

func TestPeerUnsupportedFieldsReported(t *testing.T) {
	_, ps := Build(Input{Peers: []v1beta2.BGPPeer{{
		ObjectMeta: metav1.ObjectMeta{Name: "r1"},
		Spec:       v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1", BFDProfile: "fast", VRFName: "red"},
	}}})
	if len(ps.For(KindPeer, "r1")) != 2 {
		t.Fatalf("problems = %v", ps)
	}
}

func TestValidateCommunity(t *testing.T) {
	for s, ok := range map[string]bool{
		"65000:100": true, "0:0": true, "65535:65535": true, "65536:1": false, "1:2:3": false,
		"large:1:2:3": true, "large:4294967295:0:1": true, "large:4294967296:0:1": false, "large:1:2": false,
		"a:b": false, ":1": false, "": false,
	} {
		if err := ValidateCommunity(s); (err == nil) != ok {
			t.Errorf("ValidateCommunity(%q) = %v, want ok=%v", s, err, ok)
		}
	}
}

func FuzzValidateCommunity(f *testing.F) {
	for _, s := range []string{"65000:100", "large:1:2:3", "x", "1:2:3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateCommunity(s) == nil && strings.Count(s, ":") != 1 && !strings.HasPrefix(s, "large:") {
			t.Fatalf("accepted %q", s)
		}
	})
}

// Pools created within the same second tie on creationTimestamp; the one in
// use keeps its addresses whatever the names.
func TestOverlapTieKeepsPoolInUse(t *testing.T) {
	pools := []v1beta1.IPAddressPool{pool("a-new", 10, "198.18.0.128/25"), pool("z-old", 10, "198.18.0.0/24")}
	c, ps := Build(Input{Pools: pools, InUse: map[string]bool{"z-old": true}})
	if _, ok := c.Pools["z-old"]; !ok || len(ps) != 1 || ps[0].Name != "a-new" {
		t.Fatalf("pools %v problems %v", c.Pools, ps)
	}
}
