package config

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
)

func bgpAdv(name string, v4, v6 int32, comms ...v1beta1.CommunityRef) v1beta1.BGPAdvertisement {
	return v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1beta1.BGPAdvertisementSpec{AggregationLength: &v4, AggregationLengthV6: &v6, Communities: comms}}
}

// TestAggregationMustStayInsidePools: an aggregation that would announce
// addresses outside a pool refuses the advertisement, with the reason.
func TestAggregationMustStayInsidePools(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pool   string
		v4, v6 int32
		want   string // "" = used
	}{
		{"no aggregation", "198.18.0.0/24", 32, 128, ""},
		{"inside the CIDR", "198.18.0.0/24", 26, 128, ""},
		{"exactly the CIDR", "198.18.0.0/24", 24, 128, ""},
		{"shorter than the CIDR", "198.18.0.0/24", 16, 128, "aggregation length /16 is shorter than its range 198.18.0.0/24"},
		{"zero", "198.18.0.0/24", 0, 128, "shorter than its range"},
		{"range, aggregated", "198.18.0.10-198.18.0.20", 24, 128, "not a whole number of /24 blocks (not one CIDR)"},
		{"range of whole blocks", "198.18.0.0-198.18.2.255", 24, 128, ""},
		{"range, no aggregation", "198.18.0.10-198.18.0.20", 32, 128, ""},
		{"IPv6 shorter", "2001:db8::/64", 32, 48, "aggregation length /48 is shorter than its range 2001:db8::/64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{pool("p", 1, tc.pool)}, BGPAdvertisements: []v1beta1.BGPAdvertisement{bgpAdv("a", tc.v4, tc.v6)}})
			msgs := ps.For(KindBGPAdv, "a")
			if tc.want == "" {
				if len(msgs) > 0 || len(c.BGPAdvertisements) != 1 {
					t.Fatalf("problems %v, advertisements %d; want it used", msgs, len(c.BGPAdvertisements))
				}
				return
			}
			if len(c.BGPAdvertisements) != 0 || len(msgs) != 1 || !strings.Contains(msgs[0], tc.want) || !strings.Contains(msgs[0], "not used") {
				t.Fatalf("problems %v, advertisements %d; want it refused with %q", msgs, len(c.BGPAdvertisements), tc.want)
			}
		})
	}
}

// TestServiceSelectorsWithAggregation: refused as in MetalLB, also for
// an object stored around the CRD's rule.
func TestServiceSelectorsWithAggregation(t *testing.T) {
	a := bgpAdv("a", 24, 128)
	a.Spec.ServiceSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"x": "y"}}}
	c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{pool("p", 1, "198.18.0.0/24")}, BGPAdvertisements: []v1beta1.BGPAdvertisement{a}})
	if len(c.BGPAdvertisements) != 0 || len(ps) != 1 || !strings.Contains(ps[0].Message, "serviceSelectors can only be used") {
		t.Fatalf("advertisements %d, problems %v", len(c.BGPAdvertisements), ps)
	}
}

// TestUndefinedAliasKeepsPreviousVersion: an advertisement naming an
// alias no Community defines is held back; KeepHeldBack restores the
// version applied before, so routes do not change, and without one it
// stays out.
func TestUndefinedAliasKeepsPreviousVersion(t *testing.T) {
	pools := []v1beta1.IPAddressPool{pool("p", 1, "198.18.0.0/24")}
	comm := v1beta1.Community{ObjectMeta: metav1.ObjectMeta{Name: "c"}, Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "gold", Value: "65000:1"}}}}
	prev, ps := Build(Input{Pools: pools, Communities: []v1beta1.Community{comm},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{bgpAdv("a", 32, 128, "gold"), bgpAdv("other", 32, 128)}})
	if len(ps) > 0 || len(prev.BGPAdvertisements) != 2 {
		t.Fatal(ps)
	}
	// The Community is deleted: "a" is held back, not stripped.
	cur, ps := Build(Input{Pools: pools, BGPAdvertisements: []v1beta1.BGPAdvertisement{bgpAdv("a", 32, 128, "gold"), bgpAdv("other", 32, 128)}})
	if msgs := ps.For(KindBGPAdv, "a"); len(msgs) != 1 || !strings.Contains(msgs[0], `"gold"`) {
		t.Fatalf("problems %v", ps)
	}
	if len(cur.BGPAdvertisements) != 1 || cur.BGPAdvertisements[0].Name != "other" {
		t.Fatalf("advertisements %+v, want only other", cur.BGPAdvertisements)
	}
	cur.KeepHeldBack(prev)
	if len(cur.BGPAdvertisements) != 2 || cur.BGPAdvertisements[0].Name != "a" || cur.BGPAdvertisements[0].Communities[0] != "65000:1" {
		t.Fatalf("after KeepHeldBack %+v, want a with its previous community", cur.BGPAdvertisements)
	}
	// No previous version: nothing to keep.
	fresh, _ := Build(Input{Pools: pools, BGPAdvertisements: []v1beta1.BGPAdvertisement{bgpAdv("a", 32, 128, "gold")}})
	fresh.KeepHeldBack(&Config{})
	if len(fresh.BGPAdvertisements) != 0 {
		t.Fatalf("advertisement applied without its community: %+v", fresh.BGPAdvertisements)
	}
}

// TestLocalPrefConflictWarned: two advertisements giving the same
// prefixes different localPref towards common peers are both warned
// about, naming each other and the winner; both stay in use.
func TestLocalPrefConflictWarned(t *testing.T) {
	mk := func(name string, pref uint32, peers ...string) v1beta1.BGPAdvertisement {
		a := bgpAdv(name, 32, 128)
		a.Spec.LocalPref, a.Spec.Peers = pref, peers
		return a
	}
	for _, tc := range []struct {
		name  string
		advs  []v1beta1.BGPAdvertisement
		warns int
	}{
		{"conflict", []v1beta1.BGPAdvertisement{mk("low", 100), mk("high", 200)}, 2},
		{"same value", []v1beta1.BGPAdvertisement{mk("a", 100), mk("b", 100)}, 0},
		{"different peers", []v1beta1.BGPAdvertisement{mk("a", 100, "r1"), mk("b", 200, "r2")}, 0},
		{"a common peer", []v1beta1.BGPAdvertisement{mk("a", 100, "r1", "r2"), mk("b", 200, "r2")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, ps := Build(Input{Pools: []v1beta1.IPAddressPool{pool("p", 1, "198.18.0.0/24")}, BGPAdvertisements: tc.advs})
			if len(ps) != tc.warns || len(ps.Blocking()) != 0 || len(c.BGPAdvertisements) != 2 {
				t.Fatalf("problems %v, advertisements %d", ps, len(c.BGPAdvertisements))
			}
			if tc.warns > 0 && (!strings.Contains(ps.Error(), `BGPAdvertisement "`+tc.advs[0].Name+`"`) || !strings.Contains(ps.Error(), "the highest, 200, is sent")) {
				t.Fatalf("problems %v do not name both and the winner", ps)
			}
		})
	}
}
