package config

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/addr"
)

// TestHostBitsReadAsNetwork: MetalLB's documented pool 198.51.100.10/24
// is the whole /24, with a note saying so and no problem.
func TestHostBitsReadAsNetwork(t *testing.T) {
	c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{pool("first-pool", 1, "198.51.100.10/24", "198.18.0.0/24")}})
	if len(ps) != 0 {
		t.Fatalf("problems: %v", ps)
	}
	p := c.Pools["first-pool"]
	if p == nil || p.Ranges[0] != addr.MustParseRange("198.51.100.0/24") {
		t.Fatalf("pool = %+v", p)
	}
	if len(p.Notes) != 1 || p.Notes[0] != "spec.addresses[0]: 198.51.100.10/24 read as 198.51.100.0/24" {
		t.Errorf("notes = %q", p.Notes)
	}
}

// TestPeerASNRange: 4-byte ASNs and localASN reach the model; values the
// CRD would refuse, stored around it, are refused here by name, and so is
// localASN on an iBGP session.
func TestPeerASNRange(t *testing.T) {
	peer := func(name string, my, asn, local int64) v1beta2.BGPPeer {
		return v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: v1beta2.BGPPeerSpec{MyASN: my, ASN: asn, LocalASN: local, Address: "198.18.9.1"}}
	}
	c, ps := Build(Input{Peers: []v1beta2.BGPPeer{
		peer("four-byte", 4200000001, 4294967295, 4200000002),
		peer("negative", -1, 64512, 0),
		peer("too-big", 64512, 4294967296, 0),
		peer("bad-local", 64512, 64513, -5),
		peer("ibgp-local", 64512, 64512, 65410),
	}})
	if len(c.Peers) != 1 || c.Peers[0].Name != "four-byte" {
		t.Fatalf("peers = %+v", c.Peers)
	}
	// The session presents localASN in place of myASN.
	if p := c.Peers[0]; p.MyASN != 4200000002 || p.PeerASN != 4294967295 {
		t.Errorf("ASNs = %d %d", p.MyASN, p.PeerASN)
	}
	for name, frag := range map[string]string{"negative": "myASN -1 is outside 0-4294967295", "too-big": "peerASN 4294967296 is outside",
		"bad-local": "localASN -5 is outside", "ibgp-local": "localASN 65410: only an eBGP session"} {
		msgs := ps.For(KindPeer, name)
		if len(msgs) != 1 || !strings.Contains(msgs[0], frag) {
			t.Errorf("%s: problems %q, want one containing %q", name, msgs, frag)
		}
	}
}

// TestAdvertisementSelectorsCarried: serviceSelectors and
// preferredNodeSelectors reach the model, parsed.
func TestAdvertisementSelectorsCarried(t *testing.T) {
	sel := []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "frontend"}}}
	l2 := v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "l2"}, Spec: v1beta1.L2AdvertisementSpec{
		ServiceSelectors: sel,
		PreferredNodeSelectors: []v1beta1.PreferredNodeSelector{
			{Weight: 100, Preference: metav1.LabelSelector{MatchLabels: map[string]string{"zone": "primary"}}},
			{Weight: 50, Preference: metav1.LabelSelector{}},
		}}}
	badL2 := v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: v1beta1.L2AdvertisementSpec{
		PreferredNodeSelectors: []v1beta1.PreferredNodeSelector{{Weight: 1, Preference: metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "zone", Operator: "Bogus"}}}}}}}
	b := v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: "b"}, Spec: v1beta1.BGPAdvertisementSpec{ServiceSelectors: sel}}
	c, ps := Build(Input{
		Pools:             []v1beta1.IPAddressPool{pool("p", 1, "198.18.0.0/24")},
		L2Advertisements:  []v1beta1.L2Advertisement{l2, badL2},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{b},
	})
	if msgs := ps.For(KindL2Adv, "bad"); len(msgs) != 1 || !strings.Contains(msgs[0], "preferredNodeSelectors[0].preference") {
		t.Errorf("bad preference: problems %q", msgs)
	}
	if len(c.L2Advertisements) != 1 || len(c.BGPAdvertisements) != 1 {
		t.Fatalf("advertisements %+v %+v", c.L2Advertisements, c.BGPAdvertisements)
	}
	a := c.L2Advertisements[0]
	frontend := labels.Set{"tier": "frontend"}
	if len(a.ServiceSelectors) != 1 || !a.ServiceSelectors[0].Matches(frontend) || a.ServiceSelectors[0].Matches(labels.Set{"tier": "backend"}) {
		t.Errorf("L2 serviceSelectors = %v", a.ServiceSelectors)
	}
	if len(a.PreferredNodes) != 2 || a.PreferredNodes[0].Weight != 100 || !a.PreferredNodes[0].Selector.Matches(labels.Set{"zone": "primary"}) ||
		a.PreferredNodes[0].Selector.Matches(labels.Set{}) || !a.PreferredNodes[1].Selector.Matches(labels.Set{}) {
		t.Errorf("preferred nodes = %+v", a.PreferredNodes)
	}
	if s := c.BGPAdvertisements[0].ServiceSelectors; len(s) != 1 || !s[0].Matches(frontend) {
		t.Errorf("BGP serviceSelectors = %v", s)
	}
}
