package config

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgpmodel"
)

// The object-only checks of a BGPPeer live here, once; internal/bgp
// checks only timers and other wire limits.
func TestPeerObjectChecks(t *testing.T) {
	valid := func() v1beta2.BGPPeer {
		return v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor"},
			Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1"}}
	}
	for _, tc := range []struct {
		name string
		mod  func(*v1beta2.BGPPeerSpec)
		want string // problem fragment; empty: valid
	}{
		{"valid", nil, ""},
		{"dynamic external", func(s *v1beta2.BGPPeerSpec) { s.ASN = 0; s.DynamicASN = "external" }, ""},
		{"dynamic and peerASN", func(s *v1beta2.BGPPeerSpec) { s.DynamicASN = "external" }, "exactly one of peerASN and dynamicASN"},
		{"no asn", func(s *v1beta2.BGPPeerSpec) { s.ASN = 0 }, "exactly one of peerASN and dynamicASN"},
		{"dynamic bogus", func(s *v1beta2.BGPPeerSpec) { s.ASN = 0; s.DynamicASN = "sideways" }, "neither"},
		{"no myASN", func(s *v1beta2.BGPPeerSpec) { s.MyASN = 0 }, "myASN is required"},
		{"no address", func(s *v1beta2.BGPPeerSpec) { s.Address = "" }, "peerAddress is required"},
		{"bad address", func(s *v1beta2.BGPPeerSpec) { s.Address = "tor.example" }, "not an IP address"},
		{"zoned", func(s *v1beta2.BGPPeerSpec) { s.Address = "fe80::1%eth0" }, "zoned"},
		{"source family", func(s *v1beta2.BGPPeerSpec) { s.SrcAddress = "2001:db8::11" }, "different families"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := valid()
			if tc.mod != nil {
				tc.mod(&p.Spec)
			}
			c, ps := Build(Input{Peers: []v1beta2.BGPPeer{p}})
			if tc.want == "" {
				if len(ps) != 0 || len(c.Peers) != 1 {
					t.Fatalf("problems %v", ps)
				}
				return
			}
			if len(c.Peers) != 0 || len(ps) == 0 || !strings.Contains(ps.Error(), tc.want) {
				t.Fatalf("peers %d, problems %v; want one containing %q", len(c.Peers), ps, tc.want)
			}
		})
	}
}

// The model carries the session as internal/bgp runs it.
func TestPeerModel(t *testing.T) {
	c, ps := Build(Input{Peers: []v1beta2.BGPPeer{{ObjectMeta: metav1.ObjectMeta{Name: "tor"},
		Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64512, Address: "198.18.0.1", SrcAddress: "198.18.0.11",
			HoldTime: &metav1.Duration{Duration: 9e9}, EnableGracefulRestart: true}}}})
	if len(ps) != 0 {
		t.Fatal(ps)
	}
	p := c.Peers[0].Peer
	if !p.Internal() || p.SourceAddress.String() != "198.18.0.11" || p.HoldTime != 9e9 || !p.GracefulRestart || p.DynamicASN != bgpmodel.DynamicASNNone {
		t.Fatalf("%+v", p)
	}
}
