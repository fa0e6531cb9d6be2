package crkube

import (
	"context"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/kclient"
	"github.com/barelb/barelb/internal/kube"
)

// Client adapts a controller-runtime client to kclient.Client, for the
// helpers in internal/kube that both binaries share (kclient's objects
// are controller-runtime's by method set, so each call passes through).
func Client(c client.Client) kclient.Client { return crClient{crReader{c}, c} }

// Reader adapts a controller-runtime reader to kclient.Reader.
func Reader(r client.Reader) kclient.Reader { return crReader{r} }

type crReader struct{ r client.Reader }

func (a crReader) Get(ctx context.Context, key types.NamespacedName, obj kclient.Object) error {
	return a.r.Get(ctx, key, obj)
}

func (a crReader) List(ctx context.Context, list kclient.ObjectList, opts ...kclient.ListOption) error {
	return a.r.List(ctx, list, listOptions(opts)...)
}

type crClient struct {
	crReader
	c client.Client
}

func (a crClient) Create(ctx context.Context, obj kclient.Object) error { return a.c.Create(ctx, obj) }
func (a crClient) Update(ctx context.Context, obj kclient.Object) error { return a.c.Update(ctx, obj) }
func (a crClient) UpdateStatus(ctx context.Context, obj kclient.Object) error {
	return a.c.Status().Update(ctx, obj)
}
func (a crClient) Delete(ctx context.Context, obj kclient.Object) error { return a.c.Delete(ctx, obj) }
func (a crClient) DeleteAllOf(ctx context.Context, obj kclient.Object, opts ...kclient.ListOption) error {
	var do []client.DeleteAllOfOption
	for _, o := range listOptions(opts) {
		do = append(do, o.(client.DeleteAllOfOption))
	}
	return a.c.DeleteAllOf(ctx, obj, do...)
}

// listOptions translates kclient's options to controller-runtime's.
func listOptions(opts []kclient.ListOption) []client.ListOption {
	o := kclient.Options(opts)
	var out []client.ListOption
	if o.Namespace != "" {
		out = append(out, client.InNamespace(o.Namespace))
	}
	if o.Labels != nil {
		out = append(out, client.MatchingLabelsSelector{Selector: o.Labels})
	}
	if o.NoCopy {
		out = append(out, client.UnsafeDisableDeepCopy)
	}
	return out
}

// ConfigObjects returns one empty object of each configuration kind, as
// controller-runtime watches take them.
func ConfigObjects() []client.Object {
	out := make([]client.Object, len(kube.ConfigKinds))
	for i, gvk := range kube.ConfigKinds {
		out[i] = kube.ConfigObject(gvk.Kind)
	}
	return out
}
