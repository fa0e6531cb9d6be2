package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	sigsjson "sigs.k8s.io/json"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kclient"
)

// ConfigKinds are the metallb.io configuration kinds, each at the version
// barelb reads it at, in the order ListConfig lists them.
var ConfigKinds = []schema.GroupVersionKind{
	v1beta1.GroupVersion.WithKind(config.KindPool),
	v1beta1.GroupVersion.WithKind(config.KindL2Adv),
	v1beta1.GroupVersion.WithKind(config.KindBGPAdv),
	v1beta2.GroupVersion.WithKind(config.KindPeer),
	v1beta1.GroupVersion.WithKind(config.KindCommunty),
	v1beta1.GroupVersion.WithKind(config.KindBFD),
}

// ConfigObject returns an empty object of a configuration kind, in the
// unstructured form every configuration read goes through (see
// ListConfig): for Watches, Gets and Events. It returns nil for a kind
// that is not one of ConfigKinds.
func ConfigObject(kind string) *unstructured.Unstructured {
	for _, gvk := range ConfigKinds {
		if gvk.Kind == kind {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(gvk)
			return u
		}
	}
	return nil
}

// ListConfig lists every configuration kind in namespace into the input
// config.Build takes (InUse is the caller's). The controller and the
// speakers read their configuration through it, so both see the same
// objects.
//
// The kinds are listed unstructured and decoded one object at a time: a
// typed List fails as a whole when one stored object does not decode
// into barelb's Go type (a string where a number belongs, written past
// the API server's validation by an older CRD or straight into etcd),
// and a typed informer then retries that List forever and never syncs.
// Here such an object goes into Input.Unreadable, named, and everything
// else is used. Callers must therefore never read these kinds typed from
// a cache (that would start a typed informer): use ConfigObject.
//
// Cost: six Lists, from the cache when c is a cached client (without the
// cache's deep copy, since nothing here changes the listed objects), and
// one conversion per object: about 10 µs for a typical pool on this
// project's 2-core machine, where the typed cache's deep copy was under
// 1 µs (BenchmarkDecodePool), so about 1 ms per pass for 100 objects.
// The speakers' passes list every Service and EndpointSlice too, which
// costs far more; the controller converts only on configuration changes.
func ListConfig(ctx context.Context, c kclient.Reader, namespace string) (config.Input, error) {
	var in config.Input
	for _, gvk := range ConfigKinds {
		var l unstructured.UnstructuredList
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := c.List(ctx, &l, kclient.InNamespace(namespace), kclient.NoCopy); err != nil {
			return config.Input{}, fmt.Errorf("listing %ss: %w", gvk.Kind, err)
		}
		bad := &in.Unreadable
		switch gvk.Kind {
		case config.KindPool:
			in.Pools = DecodeEach[v1beta1.IPAddressPool](l.Items, bad)
		case config.KindL2Adv:
			in.L2Advertisements = DecodeEach[v1beta1.L2Advertisement](l.Items, bad)
		case config.KindBGPAdv:
			in.BGPAdvertisements = DecodeEach[v1beta1.BGPAdvertisement](l.Items, bad)
		case config.KindPeer:
			in.Peers = DecodeEach[v1beta2.BGPPeer](l.Items, bad)
		case config.KindCommunty:
			in.Communities = DecodeEach[v1beta1.Community](l.Items, bad)
		case config.KindBFD:
			in.BFDProfiles = DecodeEach[v1beta1.BFDProfile](l.Items, bad)
		}
	}
	return in, nil
}

// DecodeEach decodes each object into T, the way the typed client would
// (the same case-sensitive JSON decoder), and adds one problem per object
// that does not decode, naming it and the field that failed. It never
// changes items.
func DecodeEach[T any](items []unstructured.Unstructured, bad *config.Problems) []T {
	out := make([]T, 0, len(items))
	for i := range items {
		var t T
		if err := Decode(&items[i], &t); err != nil {
			u := &items[i]
			*bad = append(*bad, config.Problem{Kind: u.GetKind(), Name: u.GetName(), Message: fmt.Sprintf(
				"the stored object cannot be read as %s (%v): it is not used until it is fixed",
				u.GetAPIVersion(), err)})
			continue
		}
		out = append(out, t)
	}
	return out
}

// Decode decodes u into out (a pointer to a zeroed value). The
// unstructured converter is tried first, as it is about three times
// cheaper; on its error the object is decoded again with the decoder the
// typed client uses (the same case-sensitive JSON decoder), whose result
// counts and whose error names the field. So Decode accepts everything a
// typed List would have accepted.
func Decode(u *unstructured.Unstructured, out any) error {
	if runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, out) == nil {
		return nil
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	// The converter may have filled part of out.
	v := reflect.ValueOf(out).Elem()
	v.Set(reflect.Zero(v.Type()))
	return sigsjson.UnmarshalCaseSensitivePreserveInts(b, out)
}
