package config

import (
	"strings"
	"testing"
	"time"

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
		{"no address", func(s *v1beta2.BGPPeerSpec) { s.Address = "" }, "peerAddress or interface is required"},
		{"unnumbered", func(s *v1beta2.BGPPeerSpec) { s.Address = ""; s.Interface = "eth1" }, ""},
		{"address and interface", func(s *v1beta2.BGPPeerSpec) { s.Interface = "eth1" }, "exactly one of peerAddress and interface"},
		{"unnumbered with source", func(s *v1beta2.BGPPeerSpec) { s.Address = ""; s.Interface = "eth1"; s.SrcAddress = "198.18.0.11" }, "link-local"},
		{"unnumbered multihop", func(s *v1beta2.BGPPeerSpec) { s.Address = ""; s.Interface = "eth1"; s.EBGPMultiHop = true }, "on the link"},
		{"bad address", func(s *v1beta2.BGPPeerSpec) { s.Address = "tor.example" }, "not an IP address"},
		{"zoned", func(s *v1beta2.BGPPeerSpec) { s.Address = "fe80::1%eth0" }, "zoned"},
		{"source family", func(s *v1beta2.BGPPeerSpec) { s.SrcAddress = "2001:db8::11" }, "different families"},
		{"multihop eBGP", func(s *v1beta2.BGPPeerSpec) { s.EBGPMultiHop = true }, ""},
		{"multihop iBGP", func(s *v1beta2.BGPPeerSpec) { s.EBGPMultiHop = true; s.ASN = 64512 }, "ebgpMultiHop is set but the peer is iBGP"},
		{"multihop dynamic internal", func(s *v1beta2.BGPPeerSpec) { s.EBGPMultiHop = true; s.ASN = 0; s.DynamicASN = "internal" }, "ebgpMultiHop is set but the peer is iBGP"},
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
				if m := c.Peers[0]; len(m.Unsupported) != 0 || m.Interface != p.Spec.Interface {
					t.Fatalf("peer %+v: want it runnable as written (interface %q)", m, p.Spec.Interface)
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

// TestKeepaliveAlone: keepaliveTime without holdTime makes the hold time
// three times the keepalive, as in MetalLB (a 90s keepalive used to be
// refused against the 90s default hold time).
func TestKeepaliveAlone(t *testing.T) {
	for _, tc := range []struct {
		hold, keep, wantHold time.Duration
	}{
		{0, 90 * time.Second, 270 * time.Second},
		{0, 10 * time.Second, 30 * time.Second},
		{9 * time.Second, 3 * time.Second, 9 * time.Second},
		{0, 0, 0}, // internal/bgp's defaults (90s / 30s)
	} {
		p := v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor"}, Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1"}}
		if tc.hold > 0 {
			p.Spec.HoldTime = &metav1.Duration{Duration: tc.hold}
		}
		if tc.keep > 0 {
			p.Spec.KeepaliveTime = &metav1.Duration{Duration: tc.keep}
		}
		c, ps := Build(Input{Peers: []v1beta2.BGPPeer{p}})
		if len(ps) != 0 || c.Peers[0].HoldTime != tc.wantHold || c.Peers[0].KeepaliveTime != tc.keep {
			t.Errorf("hold %v keepalive %v: got hold %v keepalive %v (problems %v), want hold %v", tc.hold, tc.keep, c.Peers[0].HoldTime, c.Peers[0].KeepaliveTime, ps, tc.wantHold)
		}
	}
}

// TestDisableMPReported: disableMP does nothing, and says so; the peer
// still runs.
func TestDisableMPReported(t *testing.T) {
	p := v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor"}, Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1", DisableMP: true}}
	c, ps := Build(Input{Peers: []v1beta2.BGPPeer{p}})
	if len(c.Peers) != 1 || len(ps) != 1 || !ps[0].Warning || len(ps.Blocking()) != 0 || !strings.Contains(ps[0].Message, "disableMP has no effect") {
		t.Fatalf("peers %d, problems %v", len(c.Peers), ps)
	}
}
