package v1beta1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/testsupport/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

const ns = "default"

// TestAPIServerRejectsBadAddresses: the CEL rules in the CRD make the API
// server itself refuse malformed pools, with a message naming the field.
func TestAPIServerRejectsBadAddresses(t *testing.T) {
	ctx := context.Background()
	for i, tc := range []struct {
		addr string
		want string // "" = accepted
	}{
		{"198.18.0.0/24", ""},
		{"198.18.0.10-198.18.0.20", ""},
		{"198.18.0.10 - 198.18.0.20", ""},
		{"198.18.0.7", ""},
		{"2001:db8::/64", ""},
		{"2001:db8::1-2001:db8::ff", ""},
		{"198.18.0.9-198.18.0.9", ""},
		{"10.0.0.9-10.0.0.1", "range start is after its end"},
		{"198.18.1.0-198.18.0.255", "range start is after its end"},
		{"198.18.0.1-2001:db8::1", "mixes IPv4 and IPv6"},
		{"198.18.0.1/24", ""}, // host bits: read as its network, as in MetalLB
		{"198.51.100.10/24", ""},
		{"2001:db8::1/64", ""},
		{"198.18.0.0/33", "must be a CIDR"},
		{"not-an-address", "must be a CIDR"},
		{"198.18.0.1-", "must be a CIDR"},
	} {
		p := &v1beta1.IPAddressPool{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pool-%d", i)},
			Spec:       v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(tc.addr)}},
		}
		err := env.Client.Create(ctx, p)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q rejected: %v", tc.addr, err)
		case tc.want != "" && err == nil:
			t.Errorf("%q accepted, want rejection %q", tc.addr, tc.want)
		case tc.want != "" && (!strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "spec.addresses[0]")):
			t.Errorf("%q: error %q does not say %q at spec.addresses[0]", tc.addr, err, tc.want)
		}
	}
}

func TestAPIServerRejectsBadCommunities(t *testing.T) {
	ctx := context.Background()
	for i, tc := range []struct {
		value string
		ok    bool
	}{
		{"65000:100", true}, {"large:64512:1:2", true}, {"an-alias", true},
		{"65536:1", false}, {"1:2:3", false}, {"large:1:2", false}, {"large:4294967296:1:1", false}, {"x:y", false},
	} {
		adv := &v1beta1.BGPAdvertisement{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("adv-%d", i)},
			Spec:       v1beta1.BGPAdvertisementSpec{Communities: []v1beta1.CommunityRef{v1beta1.CommunityRef(tc.value)}},
		}
		err := env.Client.Create(ctx, adv)
		if (err == nil) != tc.ok {
			t.Errorf("community %q: err=%v, want ok=%v", tc.value, err, tc.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "spec.communities[0]") {
			t.Errorf("community %q: error does not name the field: %v", tc.value, err)
		}
		c := &v1beta1.Community{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("com-%d", i)},
			Spec:       v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "n", Value: v1beta1.CommunityValue(tc.value)}}},
		}
		literal := strings.Contains(tc.value, ":")
		if err := env.Client.Create(ctx, c); (err == nil) != (tc.ok && literal) {
			t.Errorf("Community value %q: err=%v", tc.value, err)
		}
	}
}

func TestAPIServerRejectsBadPeers(t *testing.T) {
	ctx := context.Background()
	for i, tc := range []struct {
		spec v1beta2.BGPPeerSpec
		want string
	}{
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1"}, ""},
		{v1beta2.BGPPeerSpec{MyASN: 64512, Address: "198.18.9.1"}, "exactly one of peerASN and dynamicASN"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "nope"}, "peerAddress must be an IP"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1", RouterID: "2001:db8::1"}, "routerID must be an IPv4"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1", HoldTime: &metav1.Duration{Duration: 1e9}}, "holdTime must be 0 or at least 3s"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1", Password: "a", PasswordSecret: corev1.SecretReference{Name: "s"}}, "at most one of password and passwordSecret"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1", EBGPMultiHop: true}, ""},
		{v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64512, Address: "198.18.9.1", EBGPMultiHop: true}, "ebgpMultiHop applies to eBGP peers only"},
		{v1beta2.BGPPeerSpec{MyASN: 64512, DynamicASN: v1beta2.InternalASNMode, Address: "198.18.9.1", EBGPMultiHop: true}, "ebgpMultiHop applies to eBGP peers only"},
	} {
		p := &v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("peer-%d", i)}, Spec: tc.spec}
		err := env.Client.Create(ctx, p)
		if tc.want == "" {
			if err != nil {
				t.Errorf("valid peer %d rejected: %v", i, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("peer %d: err=%v, want %q", i, err, tc.want)
		}
	}
}

// TestBGPPeerServedAsV1beta1: a peer written as v1beta1 is stored (as
// v1beta2) and reads back through both versions.
func TestBGPPeerServedAsV1beta1(t *testing.T) {
	ctx := context.Background()
	old := &v1beta1.BGPPeer{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy"},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.2",
			NodeSelectors: []v1beta1.NodeSelector{{MatchLabels: map[string]string{"rack": "a"}}}},
	}
	if err := env.Client.Create(ctx, old); err != nil {
		t.Fatal(err)
	}
	var cur v1beta2.BGPPeer
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(old), &cur); err != nil {
		t.Fatal(err)
	}
	ibgp := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy-ibgp-multihop"},
		Spec: v1beta1.BGPPeerSpec{MyASN: 64512, ASN: 64512, Address: "198.18.9.3", EBGPMultiHop: true}}
	if err := env.Client.Create(ctx, ibgp); err == nil || !strings.Contains(err.Error(), "ebgpMultiHop applies to eBGP peers only") {
		t.Errorf("v1beta1 iBGP peer with ebgpMultiHop: err=%v, want the CEL refusal", err)
	}
	if cur.Spec.Address != "198.18.9.2" || cur.Spec.ASN != 64513 || cur.Spec.NodeSelectors[0].MatchLabels["rack"] != "a" {
		t.Fatalf("v1beta2 view: %+v", cur.Spec)
	}
}
