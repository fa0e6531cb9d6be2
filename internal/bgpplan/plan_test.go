package bgpplan

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// The tests build the model with config.Build from CRs, as the speaker
// does, so they also catch a mismatch between the two packages.

func pool(name string, addrs ...string) v1beta1.IPAddressPool {
	p := v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func adv(name string, mod func(*v1beta1.BGPAdvertisementSpec)) v1beta1.BGPAdvertisement {
	a := v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Name: name}}
	a.Spec.IPAddressPools = []string{"v4", "v6"}
	if mod != nil {
		mod(&a.Spec)
	}
	return a
}

func peer(name, address string, mod func(*v1beta2.BGPPeerSpec)) v1beta2.BGPPeer {
	p := v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec = v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: address}
	if mod != nil {
		mod(&p.Spec)
	}
	return p
}

// echoProfile is a BFDProfile the speaker cannot run (echo mode).
var echoProfile = []v1beta1.BFDProfile{{ObjectMeta: metav1.ObjectMeta{Name: "fast"},
	Spec: v1beta1.BFDProfileSpec{EchoMode: func() *bool { b := true; return &b }()}}}

func sel(k, v string) []metav1.LabelSelector {
	return []metav1.LabelSelector{{MatchLabels: map[string]string{k: v}}}
}

var (
	ip1  = netip.MustParseAddr("198.19.0.1")
	ip2  = netip.MustParseAddr("198.19.0.2")
	ip6  = netip.MustParseAddr("2001:db8:ff::1")
	pre1 = netip.MustParsePrefix("198.19.0.1/32")
	pre6 = netip.MustParsePrefix("2001:db8:ff::1/128")
)

func nodes() []eligibility.Node {
	return []eligibility.Node{
		{Name: "a", Labels: map[string]string{"rack": "1"}, Alive: true},
		{Name: "b", Labels: map[string]string{"rack": "2"}, Alive: true},
	}
}

func svc(key string, local bool, ready []string, ips ...netip.Addr) eligibility.Service {
	s := eligibility.Service{Key: key, IPs: ips, Local: local}
	for _, n := range ready {
		if s.ReadyNodes == nil {
			s.ReadyNodes = map[string]bool{}
		}
		s.ReadyNodes[n] = true
	}
	return s
}

func build(t *testing.T, in config.Input) *config.Config {
	t.Helper()
	if in.Pools == nil {
		in.Pools = []v1beta1.IPAddressPool{pool("v4", "198.19.0.0/24"), pool("v6", "2001:db8:ff::/64")}
	}
	cfg, _ := config.Build(in)
	return cfg
}

func prefixes(p Plan) []string {
	var out []string
	for _, a := range p.Advertisements {
		out = append(out, a.Prefix.String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCompute(t *testing.T) {
	r1 := peer("r1", "198.18.0.1", nil)
	r6 := peer("r6", "2001:db8::1", nil)
	ibgp := peer("ibgp", "198.18.0.2", func(s *v1beta2.BGPPeerSpec) { s.ASN = 64512 })
	basic := []v1beta1.BGPAdvertisement{adv("all", nil)}
	tests := []struct {
		name     string
		in       config.Input
		node     string
		svcs     []eligibility.Service
		nodes    []eligibility.Node
		peers    []string
		prefixes []string
		services map[string][]string
		why      map[string]string // substring of NotAdvertised per key
	}{
		{
			name: "Cluster: every node while any endpoint is ready",
			in:   config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: basic},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"b"}, ip1)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/s": {"r1"}},
		},
		{
			name: "Cluster: nothing without ready endpoints",
			in:   config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: basic},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, nil, ip1)},
			peers: []string{"r1"}, services: map[string][]string{},
			why: map[string]string{"ns/s": "no ready endpoints"},
		},
		{
			name: "Local: only the node with a ready endpoint",
			in:   config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: basic},
			node: "a", svcs: []eligibility.Service{svc("ns/s", true, []string{"b"}, ip1), svc("ns/t", true, []string{"a"}, ip2)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.2/32"},
			services: map[string][]string{"ns/t": {"r1"}},
			why:      map[string]string{"ns/s": "Local"},
		},
		{
			name: "pool without BGPAdvertisement is not advertised",
			in: config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: []v1beta1.BGPAdvertisement{
				adv("only6", func(s *v1beta1.BGPAdvertisementSpec) { s.IPAddressPools = []string{"v6"} })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"r1"}, services: map[string][]string{},
			why: map[string]string{"ns/s": "no BGPAdvertisement covers IPAddressPool v4"},
		},
		{
			name: "advertisement nodeSelectors",
			in: config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: []v1beta1.BGPAdvertisement{
				adv("rack2", func(s *v1beta1.BGPAdvertisementSpec) { s.NodeSelectors = sel("rack", "2") })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"r1"}, services: map[string][]string{},
			why: map[string]string{"ns/s": "selects node a"},
		},
		{
			name: "peer nodeSelectors",
			in: config.Input{BGPAdvertisements: basic, Peers: []v1beta2.BGPPeer{r1,
				peer("r2", "198.18.0.3", func(s *v1beta2.BGPPeerSpec) { s.NodeSelectors = sel("rack", "2") })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/s": {"r1"}},
		},
		{
			name: "families: IPv6 prefix only to the IPv6 peer in the status",
			in:   config.Input{BGPAdvertisements: basic, Peers: []v1beta2.BGPPeer{r1, r6}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1, ip6)},
			peers: []string{"r1", "r6"}, prefixes: []string{"198.19.0.1/32", "2001:db8:ff::1/128"},
			services: map[string][]string{"ns/s": {"r1", "r6"}},
		},
		{
			name: "localPref: eBGP peers get the route too (without LOCAL_PREF)",
			in: config.Input{Peers: []v1beta2.BGPPeer{r1, ibgp}, BGPAdvertisements: []v1beta1.BGPAdvertisement{
				adv("pref", func(s *v1beta1.BGPAdvertisementSpec) { s.LocalPref = 200 })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"ibgp", "r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/s": {"ibgp", "r1"}},
		},
		{
			name: "advertisement peers list",
			in: config.Input{Peers: []v1beta2.BGPPeer{r1, ibgp}, BGPAdvertisements: []v1beta1.BGPAdvertisement{
				adv("to-r1", func(s *v1beta1.BGPAdvertisementSpec) { s.Peers = []string{"r1", "elsewhere"} })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"ibgp", "r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/s": {"r1"}},
		},
		{
			name: "aggregation: two IPs, one prefix",
			in: config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: []v1beta1.BGPAdvertisement{
				adv("agg", func(s *v1beta1.BGPAdvertisementSpec) { l := int32(24); s.AggregationLength = &l })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1), svc("ns/t", false, []string{"b"}, ip2)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.0/24"},
			services: map[string][]string{"ns/s": {"r1"}, "ns/t": {"r1"}},
		},
		{
			name:  "excluded node advertises nothing",
			in:    config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: basic},
			nodes: []eligibility.Node{{Name: "a", Labels: map[string]string{eligibility.ExcludeLabel: ""}}},
			node:  "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"r1"}, services: map[string][]string{},
			why: map[string]string{"ns/s": "excluded"},
		},
		{
			name: "shared IP: advertised when one of its Services may be",
			in:   config.Input{Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: basic},
			node: "a", svcs: []eligibility.Service{svc("ns/s", true, []string{"b"}, ip1), svc("ns/t", false, []string{"b"}, ip1)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/t": {"r1"}},
		},
		{
			name: "unsupported peer is refused",
			in: config.Input{BGPAdvertisements: basic, BFDProfiles: echoProfile, Peers: []v1beta2.BGPPeer{r1,
				peer("bfd", "198.18.0.4", func(s *v1beta2.BGPPeerSpec) { s.BFDProfile = "fast" })}},
			node: "a", svcs: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1)},
			peers: []string{"r1"}, prefixes: []string{"198.19.0.1/32"},
			services: map[string][]string{"ns/s": {"r1"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.nodes
			if ns == nil {
				ns = nodes()
			}
			p := Compute(Input{Config: build(t, tc.in), Node: tc.node, Nodes: ns, Services: tc.svcs})
			var names []string
			for _, pr := range p.Peers {
				names = append(names, pr.Name)
			}
			if !slices.Equal(names, tc.peers) {
				t.Errorf("peers = %v, want %v", names, tc.peers)
			}
			if got := prefixes(p); !slices.Equal(got, tc.prefixes) {
				t.Errorf("prefixes = %v, want %v", got, tc.prefixes)
			}
			if !reflect.DeepEqual(p.Services, tc.services) {
				t.Errorf("services = %v, want %v", p.Services, tc.services)
			}
			for k, w := range tc.why {
				if !strings.Contains(p.NotAdvertised[k], w) {
					t.Errorf("NotAdvertised[%s] = %q, want it to mention %q", k, p.NotAdvertised[k], w)
				}
			}
			if len(p.Problems) > 0 {
				t.Errorf("problems: %v", p.Problems)
			}
		})
	}
}

func TestAttributes(t *testing.T) {
	in := config.Input{
		Peers: []v1beta2.BGPPeer{peer("r1", "198.18.0.1", func(s *v1beta2.BGPPeerSpec) {
			s.HoldTime = &metav1.Duration{Duration: 9 * time.Second}
			s.ConnectTime = &metav1.Duration{Duration: 2 * time.Second}
			s.EnableGracefulRestart = true
			s.DualStackAddressFamily = true
		})},
		Communities: []v1beta1.Community{{ObjectMeta: metav1.ObjectMeta{Name: "c"},
			Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "no-export", Value: "65535:65281"}}}}},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{adv("x", func(s *v1beta1.BGPAdvertisementSpec) {
			s.Communities = []v1beta1.CommunityRef{"no-export", "large:1:2:3"}
		})},
	}
	nh := netip.MustParseAddr("2001:db8::11")
	p := Compute(Input{Config: build(t, in), Node: "a", Nodes: nodes(), IPv6NextHop: nh,
		Services: []eligibility.Service{svc("ns/s", false, []string{"a"}, ip1, ip6)}})
	want := bgpmodel.Peer{Name: "r1", MyASN: 64512, PeerASN: 64500, Address: netip.MustParseAddr("198.18.0.1"), // Port 0: internal/bgp fills 179

		HoldTime: 9 * time.Second, ConnectTime: 2 * time.Second, GracefulRestart: true, DualStack: true, IPv6NextHop: nh}
	if len(p.Peers) != 1 || p.Peers[0] != want {
		t.Fatalf("peers = %+v, want [%+v]", p.Peers, want)
	}
	comms := []bgpmodel.Community{bgpmodel.StandardCommunity(65535, 65281), bgpmodel.LargeCommunity(1, 2, 3)}
	wantAds := []bgpmodel.Advertisement{
		{Name: "x/198.19.0.1/32", Prefix: pre1, Communities: comms},
		{Name: "x/2001:db8:ff::1/128", Prefix: pre6, Communities: comms},
	}
	if !reflect.DeepEqual(p.Advertisements, wantAds) {
		t.Fatalf("ads = %+v\nwant %+v", p.Advertisements, wantAds)
	}
	if got := p.Services["ns/s"]; !slices.Equal(got, []string{"r1"}) {
		t.Fatalf("service peers = %v", got)
	}
}

func TestRefusals(t *testing.T) {
	in := config.Input{BFDProfiles: echoProfile, Peers: []v1beta2.BGPPeer{
		peer("bfd", "198.18.0.1", func(s *v1beta2.BGPPeerSpec) { s.BFDProfile = "fast" }),
		peer("md5", "198.18.0.2", func(s *v1beta2.BGPPeerSpec) { s.PasswordSecret.Name = "pw" }),
		peer("md5-missing", "198.18.0.3", func(s *v1beta2.BGPPeerSpec) { s.PasswordSecret.Name = "nope" }),
		peer("vrf-elsewhere", "198.18.0.4", func(s *v1beta2.BGPPeerSpec) { s.VRFName = "red"; s.NodeSelectors = sel("rack", "2") }),
	}}
	p := Compute(Input{Config: build(t, in), Node: "a", Nodes: nodes(), Passwords: map[string]string{"pw": "s3cret"}})
	if len(p.Peers) != 1 || p.Peers[0].Name != "md5" || p.Peers[0].Password != "s3cret" {
		t.Fatalf("peers = %+v, want md5 with the Secret's password", p.Peers)
	}
	if len(p.Refused) != 2 {
		t.Fatalf("refused = %+v, want bfd and md5-missing (vrf-elsewhere does not select node a)", p.Refused)
	}
	if r := p.Refused[0]; r.Peer != "bfd" || !r.Unsupported || !strings.Contains(r.Message(), "BFD") {
		t.Errorf("refusal %+v", r)
	}
	if r := p.Refused[1]; r.Peer != "md5-missing" || r.Unsupported || !strings.Contains(r.Message(), `"nope"`) {
		t.Errorf("refusal %+v", r)
	}
}

func TestDeterministic(t *testing.T) {
	in := config.Input{Peers: []v1beta2.BGPPeer{peer("r1", "198.18.0.1", nil)},
		BGPAdvertisements: []v1beta1.BGPAdvertisement{adv("a", nil), adv("b", nil)}}
	cfg := build(t, in)
	var svcs []eligibility.Service
	for i := range 50 {
		svcs = append(svcs, svc("ns/s"+string(rune('a'+i%26))+string(rune('a'+i/26)), false, []string{"a"},
			netip.AddrFrom4([4]byte{198, 19, 0, byte(i + 1)})))
	}
	first := Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: svcs})
	if len(first.Advertisements) != 100 {
		t.Fatalf("%d advertisements, want 100", len(first.Advertisements))
	}
	for range 5 {
		slices.Reverse(svcs)
		if again := Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: svcs}); !reflect.DeepEqual(again, first) {
			t.Fatal("plan depends on input order")
		}
	}
}

// TestLocalASN: a peer's localASN is the AS its session opens with; the
// node's other sessions keep myASN.
func TestLocalASN(t *testing.T) {
	in := config.Input{Peers: []v1beta2.BGPPeer{
		peer("plain", "198.18.0.1", nil),
		peer("tenant", "198.18.0.2", func(s *v1beta2.BGPPeerSpec) { s.ASN = 64520; s.LocalASN = 4200000001 }),
	}}
	p := Compute(Input{Config: build(t, in), Node: "a", Nodes: nodes()})
	if len(p.Peers) != 2 || p.Peers[0].Name != "plain" || p.Peers[1].Name != "tenant" {
		t.Fatalf("peers = %+v", p.Peers)
	}
	if p.Peers[0].MyASN != 64512 || p.Peers[1].MyASN != 4200000001 || p.Peers[1].PeerASN != 64520 {
		t.Errorf("local ASNs %d and %d (peer %d), want 64512 and 4200000001 (peer 64520)", p.Peers[0].MyASN, p.Peers[1].MyASN, p.Peers[1].PeerASN)
	}
}
