package v1beta1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
)

// wantRefusal checks err against want: "" means accepted, otherwise the
// error must name field and contain want.
func wantRefusal(t *testing.T, what string, err error, field, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Errorf("%s refused: %v", what, err)
	case want != "" && err == nil:
		t.Errorf("%s accepted, want refusal %q at %s", what, want, field)
	case want != "" && (!strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), field)):
		t.Errorf("%s: error %q does not say %q at %s", what, err, want, field)
	}
}

// TestAPIServerASNs: ASNs are 4-byte (0-4294967295) in every field as in
// MetalLB, peerASN and localASN at least 1; a negative ASN is refused by
// the API server, not stored to break every typed List later.
func TestAPIServerASNs(t *testing.T) {
	ctx := context.Background()
	const (
		ok       = ""
		atLeast0 = "greater than or equal to 0"
		atLeast1 = "greater than or equal to 1"
		atMost   = "less than or equal to 4294967295"
	)
	for i, tc := range []struct {
		my, peer, local int64
		field, want     string
	}{
		{4200000001, 4200000002, 4200000003, "", ok},
		{4294967295, 4294967295, 4294967295, "", ok},
		{0, 64513, 0, "", ok},
		{-1, 64513, 0, "spec.myASN", atLeast0},
		{4294967296, 64513, 0, "spec.myASN", atMost},
		{64512, -1, 0, "spec.peerASN", atLeast1},
		{64512, 4294967296, 0, "spec.peerASN", atMost},
		{64512, 64513, -1, "spec.localASN", atLeast1},
		{64512, 64513, 4294967296, "spec.localASN", atMost},
	} {
		p := &v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("asn-%d", i)},
			Spec: v1beta2.BGPPeerSpec{MyASN: tc.my, ASN: tc.peer, LocalASN: tc.local, Address: "198.18.9.1"}}
		err := env.Client.Create(ctx, p)
		wantRefusal(t, fmt.Sprintf("v1beta2 myASN=%d peerASN=%d localASN=%d", tc.my, tc.peer, tc.local), err, tc.field, tc.want)
		if err == nil && tc.my > 1<<31 {
			var got v1beta2.BGPPeer
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(p), &got); err != nil || got.Spec.MyASN != tc.my || got.Spec.LocalASN != tc.local {
				t.Errorf("4-byte peer read back as %+v, %v", got.Spec, err)
			}
		}
	}
	for i, tc := range []struct {
		my, peer    int64
		field, want string
	}{
		{4200000001, 4200000002, "", ok},
		{-1, 64513, "spec.myASN", atLeast0},
		{64512, 0, "spec.peerASN", atLeast1},
		{64512, 4294967296, "spec.peerASN", atMost},
	} {
		p := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("asn-v1-%d", i)},
			Spec: v1beta1.BGPPeerSpec{MyASN: tc.my, ASN: tc.peer, Address: "198.18.9.1"}}
		wantRefusal(t, fmt.Sprintf("v1beta1 myASN=%d peerASN=%d", tc.my, tc.peer), env.Client.Create(ctx, p), tc.field, tc.want)
	}
}

// TestAPIServerAdvertisementSelectors: serviceSelectors and
// preferredNodeSelectors are accepted; bad weights and serviceSelectors
// with a non-default aggregation are refused, naming the field.
func TestAPIServerAdvertisementSelectors(t *testing.T) {
	ctx := context.Background()
	sel := []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "frontend"}}}
	pref := func(w int32) []v1beta1.PreferredNodeSelector {
		return []v1beta1.PreferredNodeSelector{{Weight: w, Preference: metav1.LabelSelector{MatchLabels: map[string]string{"zone": "primary"}}}}
	}
	for i, tc := range []struct {
		spec        v1beta1.L2AdvertisementSpec
		field, want string
	}{
		{v1beta1.L2AdvertisementSpec{ServiceSelectors: sel, PreferredNodeSelectors: pref(1)}, "", ""},
		{v1beta1.L2AdvertisementSpec{PreferredNodeSelectors: pref(100)}, "", ""},
		{v1beta1.L2AdvertisementSpec{PreferredNodeSelectors: []v1beta1.PreferredNodeSelector{{Weight: 50}}}, "", ""},
		{v1beta1.L2AdvertisementSpec{PreferredNodeSelectors: pref(0)}, "spec.preferredNodeSelectors[0].weight", "greater than or equal to 1"},
		{v1beta1.L2AdvertisementSpec{PreferredNodeSelectors: pref(101)}, "spec.preferredNodeSelectors[0].weight", "less than or equal to 100"},
		{v1beta1.L2AdvertisementSpec{PreferredNodeSelectors: append(pref(10), pref(-3)...)}, "spec.preferredNodeSelectors[1].weight", "greater than or equal to 1"},
	} {
		a := &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("l2-sel-%d", i)}, Spec: tc.spec}
		wantRefusal(t, fmt.Sprintf("L2Advertisement %d", i), env.Client.Create(ctx, a), tc.field, tc.want)
	}
	l := func(v int32) *int32 { return &v }
	const exclusive = "serviceSelectors can only be used with the default aggregationLength"
	for i, tc := range []struct {
		spec        v1beta1.BGPAdvertisementSpec
		field, want string
	}{
		{v1beta1.BGPAdvertisementSpec{ServiceSelectors: sel, LocalPref: 200}, "", ""},
		{v1beta1.BGPAdvertisementSpec{ServiceSelectors: sel, AggregationLength: l(32), AggregationLengthV6: l(128)}, "", ""},
		{v1beta1.BGPAdvertisementSpec{AggregationLength: l(24)}, "", ""},
		{v1beta1.BGPAdvertisementSpec{ServiceSelectors: sel, AggregationLength: l(24)}, "spec", exclusive},
		{v1beta1.BGPAdvertisementSpec{ServiceSelectors: sel, AggregationLengthV6: l(64)}, "spec", exclusive},
		{v1beta1.BGPAdvertisementSpec{AggregationLength: l(0)}, "spec.aggregationLength", "greater than or equal to 1"},
	} {
		a := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("bgp-sel-%d", i)}, Spec: tc.spec}
		wantRefusal(t, fmt.Sprintf("BGPAdvertisement %d", i), env.Client.Create(ctx, a), tc.field, tc.want)
	}
}

// TestAPIServerStatusFields: ConfigurationState carries MetalLB's
// errorSummary, and a ServiceL2Status keeps the node and Service it was
// written for, as MetalLB's CRDs require.
func TestAPIServerStatusFields(t *testing.T) {
	ctx := context.Background()
	cs := &v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "controller",
		Labels: map[string]string{"metallb.io/component-type": "controller"}}}
	if err := env.Client.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	cs.Status = v1beta1.ConfigurationStateStatus{Result: v1beta1.ConfigurationStateInvalid, ErrorSummary: `IPAddressPool "p": bad`}
	if err := env.Client.Status().Update(ctx, cs); err != nil {
		t.Fatal(err)
	}
	var got v1beta1.ConfigurationState
	if err := env.Client.Get(ctx, client.ObjectKeyFromObject(cs), &got); err != nil || got.Status.ErrorSummary != `IPAddressPool "p": bad` {
		t.Fatalf("errorSummary read back as %q, %v", got.Status.ErrorSummary, err)
	}

	st := &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "l2-web-node-a"}}
	if err := env.Client.Create(ctx, st); err != nil {
		t.Fatal(err)
	}
	st.Status = v1beta1.MetalLBServiceL2Status{Node: "node-a", ServiceName: "web", ServiceNamespace: "default"}
	if err := env.Client.Status().Update(ctx, st); err != nil {
		t.Fatalf("first status write: %v", err)
	}
	st.Status.Interfaces = []v1beta1.InterfaceInfo{{Name: "eth0"}}
	if err := env.Client.Status().Update(ctx, st); err != nil {
		t.Fatalf("interfaces change: %v", err)
	}
	st.Status.Node = "node-b"
	wantRefusal(t, "moving a ServiceL2Status to another node", env.Client.Status().Update(ctx, st), "status.node", "node is immutable")
}
