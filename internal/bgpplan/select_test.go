package bgpplan

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

func labelled(s eligibility.Service, kv ...string) eligibility.Service {
	s.Labels = map[string]string{kv[0]: kv[1]}
	return s
}

// TestServiceSelectors: with several advertisements for one pool, each
// Service gets exactly those selecting it: their communities, localPref,
// peers and node selectors.
func TestServiceSelectors(t *testing.T) {
	in := config.Input{
		Peers: []v1beta2.BGPPeer{peer("r1", "198.18.0.1", nil), peer("ibgp", "198.18.0.2", func(s *v1beta2.BGPPeerSpec) { s.ASN = 64512 })},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{
			adv("gold", func(s *v1beta1.BGPAdvertisementSpec) {
				s.ServiceSelectors = sel("tier", "gold")
				s.Communities = []v1beta1.CommunityRef{"65000:1"}
				s.LocalPref = 300
				s.Peers = []string{"ibgp"}
			}),
			adv("std", func(s *v1beta1.BGPAdvertisementSpec) {
				s.ServiceSelectors = sel("tier", "std")
				s.Communities = []v1beta1.CommunityRef{"65000:2"}
			}),
			adv("rack2", func(s *v1beta1.BGPAdvertisementSpec) {
				s.ServiceSelectors = sel("tier", "rack2")
				s.NodeSelectors = sel("rack", "2")
			}),
		},
	}
	cfg := build(t, in)
	gold := labelled(svc("ns/gold", false, []string{"a"}, ip1), "tier", "gold")
	std := labelled(svc("ns/std", false, []string{"a"}, ip2), "tier", "std")
	r2 := labelled(svc("ns/r2", false, []string{"a"}, netip.MustParseAddr("198.19.0.3")), "tier", "rack2")
	none := svc("ns/none", false, []string{"a"}, netip.MustParseAddr("198.19.0.4"))
	p := Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: []eligibility.Service{gold, std, r2, none}})
	var got []string
	for _, a := range p.Advertisements {
		got = append(got, fmt.Sprintf("%s pref=%d comms=%v peers=%v", a.Name, a.LocalPref, a.Communities, a.Peers))
	}
	want := []string{
		"gold/198.19.0.1/32 pref=300 comms=[65000:1] peers=[ibgp]",
		"std/198.19.0.2/32 pref=0 comms=[65000:2] peers=[]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("advertisements\n%v\nwant\n%v", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !slices.Equal(p.Services["ns/gold"], []string{"ibgp"}) || !slices.Equal(p.Services["ns/std"], []string{"ibgp", "r1"}) {
		t.Errorf("services %v", p.Services)
	}
	if !strings.Contains(p.NotAdvertised["ns/none"], "serviceSelectors") || !strings.Contains(p.NotAdvertised["ns/r2"], "selects node a") {
		t.Errorf("not advertised %v", p.NotAdvertised)
	}
	// Node b is in rack 2: only there is ns/r2 advertised.
	if p := Compute(Input{Config: cfg, Node: "b", Nodes: nodes(), Services: []eligibility.Service{r2}}); len(p.Advertisements) != 1 {
		t.Errorf("node b: %+v", p.Advertisements)
	}

	// Services sharing an IP each bring the advertisements that select
	// them, as in MetalLB; the session merges them into one path.
	shared := labelled(svc("ns/std2", false, []string{"a"}, ip1), "tier", "std")
	p = Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: []eligibility.Service{gold, shared}})
	if got := prefixes(p); len(p.Advertisements) != 2 || !slices.Equal(got, []string{"198.19.0.1/32"}) {
		t.Errorf("shared IP: %+v", p.Advertisements)
	}
}

// TestLocalPrefConflict: two advertisements giving one prefix different
// localPref towards the same iBGP peer are reported by name; the eBGP
// peer is no conflict (it gets no LOCAL_PREF).
func TestLocalPrefConflict(t *testing.T) {
	in := config.Input{
		Peers: []v1beta2.BGPPeer{peer("r1", "198.18.0.1", nil), peer("ibgp", "198.18.0.2", func(s *v1beta2.BGPPeerSpec) { s.ASN = 64512 })},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{
			adv("low", func(s *v1beta1.BGPAdvertisementSpec) { s.LocalPref = 100 }),
			adv("high", func(s *v1beta1.BGPAdvertisementSpec) { s.LocalPref = 200 }),
			adv("ebgp-only", func(s *v1beta1.BGPAdvertisementSpec) { s.LocalPref = 50; s.Peers = []string{"r1"} }),
		},
	}
	p := Compute(Input{Config: build(t, in), Node: "a", Nodes: nodes(), Services: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)}})
	want := []string{`BGPAdvertisements "high" and "low" give 198.19.0.1/32 different localPref (200 and 100) towards peer(s) ibgp: the highest, 200, is sent`}
	if !slices.Equal(p.Problems, want) {
		t.Fatalf("problems %q, want %q", p.Problems, want)
	}
}

// TestNeverOutsidePools is a property test: whatever the pools and
// aggregation lengths, every advertised prefix lies inside one range of
// some pool. Half the models come from config.Build (which refuses bad
// aggregation), half are built by hand to exercise the plan's own guard.
func TestNeverOutsidePools(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 1))
	r1 := peer("r1", "198.18.0.1", nil)
	r6 := peer("r6", "2001:db8::1", nil)
	aggregated, guarded := 0, 0
	for iter := 0; iter < 300; iter++ {
		var pools []v1beta1.IPAddressPool
		for i := 0; i < 1+rng.IntN(3); i++ {
			base := fmt.Sprintf("198.19.%d", 10*i+rng.IntN(5))
			switch rng.IntN(3) {
			case 0:
				pools = append(pools, pool(fmt.Sprintf("p%d", i), fmt.Sprintf("%s.0/%d", base, 24+rng.IntN(9))))
			case 1:
				lo := rng.IntN(200)
				pools = append(pools, pool(fmt.Sprintf("p%d", i), fmt.Sprintf("%s.%d-%s.%d", base, lo, base, lo+rng.IntN(50))))
			default:
				pools = append(pools, pool(fmt.Sprintf("p%d", i), fmt.Sprintf("2001:db8:%x::/%d", 0x100+i, 112+rng.IntN(17))))
			}
		}
		l4, l6 := int32(16+rng.IntN(17)), int32(96+rng.IntN(33))
		a := adv("agg", func(s *v1beta1.BGPAdvertisementSpec) {
			s.IPAddressPools = nil
			s.AggregationLength, s.AggregationLengthV6 = &l4, &l6
		})
		cfg, _ := config.Build(config.Input{Pools: pools, BGPAdvertisements: []v1beta1.BGPAdvertisement{a}, Peers: []v1beta2.BGPPeer{r1, r6}})
		if iter%2 == 1 {
			// Hand-built: the advertisement covers every pool whatever
			// Build thought of its lengths.
			all := map[string]bool{}
			for n := range cfg.Pools {
				all[n] = true
			}
			cfg.BGPAdvertisements = []*config.BGPAdvertisement{{Name: "agg", Pools: all, AggregationLength: int(l4), AggregationLengthV6: int(l6), ServiceSelectors: []labels.Selector{}}}
		}
		var svcs []eligibility.Service
		for _, p := range cfg.Pools {
			for _, r := range p.Ranges {
				for k := 0; k < 3; k++ {
					ip, _ := addr.Add(r.First, uint64(rng.IntN(int(min(r.Size(), 1<<20)))))
					svcs = append(svcs, svc(fmt.Sprintf("ns/s%d", len(svcs)), false, []string{"a"}, ip))
				}
			}
		}
		plan := Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: svcs})
		for _, pr := range plan.Problems {
			if strings.Contains(pr, "reaches outside") {
				guarded++
			}
		}
		for _, ad := range plan.Advertisements {
			if ad.Prefix.Bits() < ad.Prefix.Addr().BitLen() {
				aggregated++
			}
			if !insideSomePool(cfg, ad) {
				t.Fatalf("iteration %d: %s covers addresses outside every pool (pools %v, lengths /%d /%d)", iter, ad.Prefix, pools, l4, l6)
			}
		}
	}
	// The property must have been tested on real aggregates, and the
	// guard must have had something to refuse.
	if aggregated < 50 || guarded < 50 {
		t.Fatalf("only %d aggregated prefixes advertised and %d refused by the guard", aggregated, guarded)
	}
	t.Logf("%d aggregated prefixes advertised, %d refused by the guard", aggregated, guarded)
}

func insideSomePool(cfg *config.Config, ad bgpmodel.Advertisement) bool {
	r := addr.PrefixRange(ad.Prefix)
	for _, p := range cfg.Pools {
		for _, pr := range p.Ranges {
			if pr.Contains(r.First) && pr.Contains(r.Last) {
				return true
			}
		}
	}
	return false
}
