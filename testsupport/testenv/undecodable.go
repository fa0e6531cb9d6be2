package testenv

import (
	"context"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// UndecodableConfig returns one object of each metallb.io configuration
// kind in namespace that is well-formed JSON but cannot be decoded into
// barelb's Go type, each with a field of the wrong type, as an older CRD
// (or MetalLB's, or a hand edit in etcd) could have stored it. Names are
// "bad-<kind>" in lower case ("bad-ipaddresspool"). Write them with
// StoreUnchecked.
func UndecodableConfig(namespace string) []map[string]any {
	obj := func(version, kind string, spec map[string]any) map[string]any {
		return map[string]any{
			"apiVersion": "metallb.io/" + version, "kind": kind,
			"metadata": map[string]any{"namespace": namespace, "name": "bad-" + strings.ToLower(kind)},
			"spec":     spec,
		}
	}
	return []map[string]any{
		obj("v1beta1", "IPAddressPool", map[string]any{"addresses": []any{"198.18.99.0/24"}, "avoidBuggyIPs": "yes"}),
		obj("v1beta1", "L2Advertisement", map[string]any{"ipAddressPools": 5}),
		obj("v1beta1", "BGPAdvertisement", map[string]any{"localPref": "high"}),
		obj("v1beta2", "BGPPeer", map[string]any{"myASN": "abc", "peerASN": 64512, "peerAddress": "198.18.99.1"}),
		obj("v1beta1", "Community", map[string]any{"communities": "no-export"}),
		obj("v1beta1", "BFDProfile", map[string]any{"receiveInterval": "fast"}),
	}
}

// StoreUndecodableConfig stores UndecodableConfig(namespace) past
// validation (StoreUnchecked), failing t on an error, and deletes the
// objects again when t ends. It returns what it stored.
func (e *Env) StoreUndecodableConfig(ctx context.Context, t testing.TB, namespace string) []map[string]any {
	t.Helper()
	bad := UndecodableConfig(namespace)
	for _, obj := range bad {
		if err := e.StoreUnchecked(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, obj := range bad {
			_ = e.Client.Delete(context.Background(), &unstructured.Unstructured{Object: obj})
		}
	})
	return bad
}
