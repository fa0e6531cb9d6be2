package bgpplan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// TestIPVerdicts: every IP gets this node's verdict, with the peers that
// receive it or the reason it is not advertised, and a shared IP is
// advertised when any of its Services is.
func TestIPVerdicts(t *testing.T) {
	addr := netip.MustParseAddr
	r1 := peer("r1", "198.18.0.1", nil)
	advs := []v1beta1.BGPAdvertisement{
		adv("web", func(s *v1beta1.BGPAdvertisementSpec) {
			s.IPAddressPools = []string{"v4"}
			s.ServiceSelectors = sel("tier", "web")
		}),
		adv("rack2", func(s *v1beta1.BGPAdvertisementSpec) {
			s.IPAddressPools = []string{"v4"}
			s.ServiceSelectors = sel("tier", "rack2")
			s.NodeSelectors = sel("rack", "2")
		}),
		adv("six", func(s *v1beta1.BGPAdvertisementSpec) { s.IPAddressPools = []string{"v6"} }),
	}
	pools := []v1beta1.IPAddressPool{pool("v4", "198.19.0.0/24"), pool("v6", "2001:db8:ff::/64"), pool("bare", "198.19.1.0/24")}
	cfg := build(t, config.Input{Pools: pools, Peers: []v1beta2.BGPPeer{r1}, BGPAdvertisements: advs})
	shared := addr("198.19.0.9")
	svcs := []eligibility.Service{
		labelled(svc("ns/web", false, []string{"a"}, ip1), "tier", "web"),
		labelled(svc("ns/r2", false, []string{"a"}, ip2), "tier", "rack2"),
		svc("ns/other", false, []string{"a"}, addr("198.19.0.3")),
		svc("ns/bare", false, []string{"a"}, addr("198.19.1.1")),
		svc("ns/stray", false, []string{"a"}, addr("198.18.200.1")),
		labelled(svc("ns/local", true, []string{"b"}, addr("198.19.0.4")), "tier", "web"),
		svc("ns/six", false, []string{"a"}, ip6),
		// Shared: one Service not selected, one selected.
		svc("ns/a-shared", false, []string{"a"}, shared),
		labelled(svc("ns/b-shared", false, []string{"a"}, shared), "tier", "web"),
	}
	p := Compute(Input{Config: cfg, Node: "a", Nodes: nodes(), Services: svcs})
	want := map[netip.Addr]struct {
		reason string
		peers  []string
		msg    string
	}{
		ip1:                  {peers: []string{"r1"}},
		ip2:                  {reason: ReasonNodeNotSelected, msg: "selects node a"},
		addr("198.19.0.3"):   {reason: ReasonServiceNotSelected, msg: "serviceSelectors"},
		addr("198.19.1.1"):   {reason: ReasonNoBGPAdvertisement, msg: "IPAddressPool bare"},
		addr("198.18.200.1"): {reason: string(eligibility.ReasonNotInPool)},
		addr("198.19.0.4"):   {reason: string(eligibility.ReasonNoLocalEndpoint)},
		ip6:                  {reason: ReasonNoPeer, msg: "(r1) carries IPv6"},
		shared:               {peers: []string{"r1"}},
	}
	if len(p.IPs) != len(want) {
		t.Errorf("%d verdicts, want %d: %+v", len(p.IPs), len(want), p.IPs)
	}
	for ip, w := range want {
		v, ok := p.IPs[ip]
		if !ok {
			t.Errorf("%s: no verdict", ip)
			continue
		}
		if v.Reason != w.reason || !slices.Equal(v.Peers, w.peers) || !strings.Contains(v.Message, w.msg) {
			t.Errorf("%s: %+v, want reason %q peers %v message containing %q", ip, v, w.reason, w.peers, w.msg)
		}
		if (w.reason == "" || w.reason == ReasonNoPeer) != v.Selected {
			t.Errorf("%s: selected %v", ip, v.Selected)
		}
	}
	// No BGPPeer at all: selected IPs say so.
	p = Compute(Input{Config: build(t, config.Input{Pools: pools, BGPAdvertisements: advs}), Node: "a", Nodes: nodes(), Services: svcs[:1]})
	if v := p.IPs[ip1]; v.Reason != ReasonNoPeer || !strings.Contains(v.Message, "no BGPPeer runs on node a") {
		t.Errorf("without peers: %+v", v)
	}
	// An excluded node advertises nothing, and says why for each IP.
	excl := nodes()
	excl[0].Labels = map[string]string{"node.kubernetes.io/exclude-from-external-load-balancers": ""}
	p = Compute(Input{Config: cfg, Node: "a", Nodes: excl, Services: svcs[:1]})
	if v := p.IPs[ip1]; v.Reason != string(eligibility.ReasonNodeExcluded) || v.Selected {
		t.Errorf("excluded node: %+v", v)
	}
}
