package config

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/internal/bgpmodel"
)

// A BGPPeer's bfdProfile names a BFDProfile whose fields go into the
// model; a missing profile refuses the peer, echo mode makes it
// unsupported with the reason.
func TestPeerBFDProfile(t *testing.T) {
	u := func(v uint32) *uint32 { return &v }
	yes := func() *bool { b := true; return &b }
	full := v1beta1.BFDProfileSpec{ReceiveInterval: u(200), TransmitInterval: u(250), DetectMultiplier: u(5),
		MinimumTTL: u(250), PassiveMode: yes()}
	for _, tc := range []struct {
		name        string
		ref         string
		spec        v1beta1.BFDProfileSpec
		want        bgpmodel.BFDProfile
		problem     string // fragment of a problem that refuses the peer
		unsupported string // fragment of the Unsupported entry
	}{
		{name: "no bfdProfile", ref: ""},
		{name: "every field", ref: "fast", spec: full, want: bgpmodel.BFDProfile{Name: "fast",
			ReceiveInterval: 200 * time.Millisecond, TransmitInterval: 250 * time.Millisecond,
			DetectMultiplier: 5, MinimumTTL: 250, PassiveMode: true}},
		{name: "empty spec takes the defaults later", ref: "fast", want: bgpmodel.BFDProfile{Name: "fast"}},
		{name: "echoInterval alone changes nothing", ref: "fast", spec: v1beta1.BFDProfileSpec{EchoInterval: u(50)},
			want: bgpmodel.BFDProfile{Name: "fast"}},
		{name: "missing profile", ref: "nope", problem: `bfdProfile "nope": no BFDProfile of that name exists`},
		{name: "echo mode", ref: "fast", spec: v1beta1.BFDProfileSpec{EchoMode: yes(), EchoInterval: u(50)},
			want: bgpmodel.BFDProfile{Name: "fast"}, unsupported: strings.TrimPrefix(bfd.ErrEcho.Error(), "bfd: ")},
		{name: "multiplier out of range", ref: "fast", spec: v1beta1.BFDProfileSpec{DetectMultiplier: u(300)},
			problem: "detectMultiplier 300 is outside 2-255"},
		{name: "interval out of range", ref: "fast", spec: v1beta1.BFDProfileSpec{ReceiveInterval: u(5)},
			problem: "receiveInterval 5ms is outside 10ms-1m0s"},
		{name: "ttl out of range", ref: "fast", spec: v1beta1.BFDProfileSpec{MinimumTTL: u(255)},
			problem: "minimumTtl 255 is outside 1-254"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Name: "tor"},
				Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1", BFDProfile: tc.ref}}
			profiles := []v1beta1.BFDProfile{
				{ObjectMeta: metav1.ObjectMeta{Name: "fast"}, Spec: tc.spec},
				{ObjectMeta: metav1.ObjectMeta{Name: "other"}, Spec: full},
			}
			c, ps := Build(Input{Peers: []v1beta2.BGPPeer{peer}, BFDProfiles: profiles})
			if tc.problem != "" {
				if len(c.Peers) != 0 || !strings.Contains(ps.Error(), tc.problem) {
					t.Fatalf("peers %d, problems %v; want the peer refused with %q", len(c.Peers), ps, tc.problem)
				}
				return
			}
			if len(c.Peers) != 1 {
				t.Fatalf("peer refused: %v", ps)
			}
			p := c.Peers[0]
			if p.BFD != tc.want || p.BFD.Enabled() != (tc.ref != "") {
				t.Errorf("BFD = %+v, want %+v", p.BFD, tc.want)
			}
			if tc.unsupported == "" {
				if len(p.Unsupported) != 0 || len(ps) != 0 {
					t.Errorf("unsupported %v, problems %v", p.Unsupported, ps)
				}
				return
			}
			if len(p.Unsupported) != 1 || !strings.Contains(p.Unsupported[0], tc.unsupported) ||
				!strings.Contains(p.Unsupported[0], `bfdProfile "fast": BFD echoMode`) {
				t.Errorf("unsupported = %q, want the echo reason", p.Unsupported)
			}
			if len(ps.For(KindPeer, "tor")) != 1 {
				t.Errorf("problems = %v, want the echo refusal reported once", ps)
			}
		})
	}
}
