package kube_test

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/testsupport/testenv"
)

// One object that does not decode is reported by kind, name and field,
// and the objects around it decode as the typed client would decode them.
func TestDecodeEachSkipsAndNamesUndecodable(t *testing.T) {
	u := func(name string, spec map[string]any) unstructured.Unstructured {
		return unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
			"metadata": map[string]any{"name": name, "namespace": "ns", "creationTimestamp": "2026-12-02T04:00:00Z"},
			"spec":     spec,
		}}
	}
	items := []unstructured.Unstructured{
		u("a-good", map[string]any{"addresses": []any{"198.18.0.0/24"}, "avoidBuggyIPs": true, "autoAssign": false}),
		u("b-addresses-number", map[string]any{"addresses": int64(5)}),
		u("c-bool-string", map[string]any{"addresses": []any{"198.18.1.0/24"}, "avoidBuggyIPs": "yes"}),
		// A whole float where an integer belongs: the unstructured
		// converter refuses it, the typed client's decoder (the fallback)
		// reads 3.
		u("d-good", map[string]any{"addresses": []any{"198.18.2.0/24"}, "serviceAllocation": map[string]any{"priority": float64(3)}}),
	}
	before := runtime.DeepCopyJSON(items[1].Object)
	var bad config.Problems
	got := kube.DecodeEach[v1beta1.IPAddressPool](items, &bad)
	if len(got) != 2 || got[0].Name != "a-good" || got[1].Name != "d-good" {
		t.Fatalf("decoded %d pools %v, want a-good and d-good", len(got), got)
	}
	if !got[0].Spec.AvoidBuggyIPs || got[0].Spec.AutoAssign == nil || *got[0].Spec.AutoAssign ||
		got[0].CreationTimestamp.IsZero() || got[1].Spec.AllocateTo == nil || got[1].Spec.AllocateTo.Priority != 3 {
		t.Errorf("good pools decoded wrong: %+v / %+v", got[0], got[1].Spec)
	}
	if len(bad) != 2 {
		t.Fatalf("problems %v, want one per undecodable pool", bad)
	}
	for i, want := range []struct{ name, field string }{{"b-addresses-number", "spec.addresses"}, {"c-bool-string", "spec.avoidBuggyIPs"}} {
		p := bad[i]
		if p.Kind != config.KindPool || p.Name != want.name || p.Warning || !strings.Contains(p.Message, want.field) || !strings.Contains(p.Message, "not used") {
			t.Errorf("problem %d is %+v, want IPAddressPool %q naming %s", i, p, want.name, want.field)
		}
	}
	if !reflect.DeepEqual(items[1].Object, before) {
		t.Error("DecodeEach changed the listed object (it reads the cache's copy without deep-copying)")
	}
}

// Every kind of the shared bad fixture fails to decode, with the field
// named, so the envtest tests that use it test what they say.
func TestUndecodableConfigFailsEveryKind(t *testing.T) {
	field := map[string]string{
		config.KindPool: "spec.avoidBuggyIPs", config.KindL2Adv: "spec.ipAddressPools", config.KindBGPAdv: "spec.localPref",
		config.KindPeer: "spec.myASN", config.KindCommunty: "spec.communities", config.KindBFD: "spec.receiveInterval",
	}
	seen := map[string]bool{}
	for _, obj := range testenv.UndecodableConfig("ns") {
		u := unstructured.Unstructured{Object: obj}
		var err error
		switch u.GetKind() {
		case config.KindPool:
			err = kube.Decode(&u, &v1beta1.IPAddressPool{})
		case config.KindL2Adv:
			err = kube.Decode(&u, &v1beta1.L2Advertisement{})
		case config.KindBGPAdv:
			err = kube.Decode(&u, &v1beta1.BGPAdvertisement{})
		case config.KindPeer:
			err = kube.Decode(&u, &v1beta2.BGPPeer{})
		case config.KindCommunty:
			err = kube.Decode(&u, &v1beta1.Community{})
		case config.KindBFD:
			err = kube.Decode(&u, &v1beta1.BFDProfile{})
		}
		if err == nil || !strings.Contains(err.Error(), field[u.GetKind()]) {
			t.Errorf("%s %s: decode error %v, want one naming %s", u.GetKind(), u.GetName(), err, field[u.GetKind()])
		}
		seen[u.GetKind()] = true
	}
	for _, gvk := range kube.ConfigKinds {
		if !seen[gvk.Kind] {
			t.Errorf("no undecodable %s in the fixture", gvk.Kind)
		}
	}
}

// What reading the configuration costs per object: the JSON round trip
// DecodeEach does, against the deep copy a typed cache List made of the
// same pool before (the unstructured List skips its own deep copy).
func BenchmarkDecodePool(b *testing.B) {
	obj := map[string]any{
		"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
		"metadata": map[string]any{"name": "p", "namespace": "metallb-system", "uid": "0b0e5a3c-2d36-4d2e-9a57-0d3f8f7b1c11",
			"resourceVersion": "12345", "generation": int64(1), "creationTimestamp": "2026-12-02T04:00:00Z", "labels": map[string]any{"tier": "web"}},
		"spec": map[string]any{"addresses": []any{"198.18.0.0/24", "2001:db8::/120"}, "autoAssign": true,
			"serviceAllocation": map[string]any{"priority": int64(10), "namespaces": []any{"apps"}}},
		"status": map[string]any{"assignedIPv4": int64(3), "assignedIPv6": int64(0), "availableIPv4": int64(253), "availableIPv6": int64(256)},
	}
	items := []unstructured.Unstructured{{Object: obj}}
	b.Run("decode", func(b *testing.B) {
		for b.Loop() {
			var bad config.Problems
			if len(kube.DecodeEach[v1beta1.IPAddressPool](items, &bad)) != 1 {
				b.Fatal(bad)
			}
		}
	})
	typed := kube.DecodeEach[v1beta1.IPAddressPool](items, new(config.Problems))[0]
	b.Run("typed-deepcopy", func(b *testing.B) {
		for b.Loop() {
			_ = typed.DeepCopy()
		}
	})
}
