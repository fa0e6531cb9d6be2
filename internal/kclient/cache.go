package kclient

import (
	"context"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

// Watch is one kind Cached keeps an informer for.
type Watch struct {
	// Object is an empty object of the kind: typed, or an
	// *unstructured.Unstructured with its GroupVersionKind set.
	Object Object
	// Namespace, if set, scopes the informer to it.
	Namespace string
	// Labels, if set, scopes the informer to objects carrying them.
	Labels map[string]string
}

// Cached is a Client whose reads of the watched kinds come from
// informers and whose other calls go to the API server (Direct).
type Cached struct {
	*Direct
	informers map[informerKey]*watched
	// onChange is called for every add, update and delete the informers
	// see, after the store has it.
	onChange func(Object)
}

type informerKey struct {
	gvk          schema.GroupVersionKind
	unstructured bool
}

type watched struct {
	k      kind
	scope  Watch
	inf    cache.SharedIndexInformer
	newObj func() Object
}

// NewCached prepares an informer per watch; Start runs them. transform,
// if set, trims objects before they are stored (see TrimForCache).
// onChange is called from the informers' goroutines for every change.
func NewCached(d *Direct, watches []Watch, transform cache.TransformFunc, onChange func(Object)) (*Cached, error) {
	c := &Cached{Direct: d, informers: map[informerKey]*watched{}, onChange: onChange}
	for _, w := range watches {
		k, err := kindOf(d.scheme, w.Object)
		if err != nil {
			return nil, err
		}
		key := informerKey{k.gvk, k.unstructured}
		if c.informers[key] != nil {
			return nil, fmt.Errorf("kclient: %s watched twice", k.gvk)
		}
		example := w.Object
		wd := &watched{k: k, scope: w, newObj: func() Object { return example.DeepCopyObject().(Object) }}
		wd.inf = cache.NewSharedIndexInformer(c.listWatch(wd), example, 0,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
		if transform != nil {
			if err := wd.inf.SetTransform(transform); err != nil {
				return nil, err
			}
		}
		if onChange != nil {
			if _, err := wd.inf.AddEventHandler(c.handler()); err != nil {
				return nil, err
			}
		}
		c.informers[key] = wd
	}
	return c, nil
}

func (c *Cached) handler() cache.ResourceEventHandler {
	call := func(o any) {
		if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = d.Obj
		}
		if obj, ok := o.(Object); ok {
			c.onChange(obj)
		}
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    call,
		UpdateFunc: func(_, n any) { call(n) },
		DeleteFunc: call,
	}
}

// listWatch lists and watches w's kind in its scope: typed through the
// REST client, unstructured through the dynamic client.
func (c *Cached) listWatch(w *watched) *cache.ListWatch {
	scope := func(o *metav1.ListOptions) {
		if w.scope.Labels != nil {
			o.LabelSelector = labels.SelectorFromSet(w.scope.Labels).String()
		}
	}
	if w.k.unstructured {
		r := c.dynFor(w.k, w.scope.Namespace)
		return &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				scope(&o)
				return r.List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				scope(&o)
				return r.Watch(ctx, o)
			},
		}
	}
	listKind := w.k.gvk.GroupVersion().WithKind(w.k.gvk.Kind + "List")
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			scope(&o)
			list, err := c.scheme.New(listKind)
			if err != nil {
				return nil, err
			}
			req, err := c.request(w.k, "GET", w.scope.Namespace)
			if err != nil {
				return nil, err
			}
			return list, req.VersionedParams(&o, c.params).Do(ctx).Into(list)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			scope(&o)
			o.Watch = true
			req, err := c.request(w.k, "GET", w.scope.Namespace)
			if err != nil {
				return nil, err
			}
			return req.VersionedParams(&o, c.params).Watch(ctx)
		},
	}
}

// Start runs every informer until ctx ends and returns once all have
// synced (or with ctx's error).
func (c *Cached) Start(ctx context.Context) error {
	synced := make([]cache.InformerSynced, 0, len(c.informers))
	for _, w := range c.informers {
		go w.inf.RunWithContext(ctx)
		synced = append(synced, w.inf.HasSynced)
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("kclient: caches did not sync: %w", ctx.Err())
	}
	return nil
}

func (c *Cached) watchedFor(obj runtime.Object) (*watched, error) {
	k, err := kindOf(c.scheme, obj)
	if err != nil {
		return nil, err
	}
	return c.informers[informerKey{k.gvk, k.unstructured}], nil
}

// Get reads from the kind's informer, or from the API server for a kind
// not watched. An object outside the informer's scope is not found.
func (c *Cached) Get(ctx context.Context, key types.NamespacedName, obj Object) error {
	w, err := c.watchedFor(obj)
	if err != nil {
		return err
	}
	if w == nil {
		return c.Direct.Get(ctx, key, obj)
	}
	sk := key.Name
	if w.k.namespaced {
		sk = key.Namespace + "/" + key.Name
	}
	o, ok, err := w.inf.GetStore().GetByKey(sk)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(w.k, key.Name)
	}
	cp := o.(runtime.Object).DeepCopyObject()
	reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(cp).Elem())
	return nil
}

// List reads from the kind's informer, or from the API server for a kind
// not watched.
func (c *Cached) List(ctx context.Context, list ObjectList, opts ...ListOption) error {
	w, err := c.watchedFor(list)
	if err != nil {
		return err
	}
	if w == nil {
		return c.Direct.List(ctx, list, opts...)
	}
	o := (&listOptions{}).apply(opts)
	objs, err := w.objects(o)
	if err != nil {
		return err
	}
	out := make([]runtime.Object, len(objs))
	for i, obj := range objs {
		if o.noCopy {
			out[i] = obj
		} else {
			out[i] = obj.DeepCopyObject()
		}
	}
	if ul, ok := list.(*unstructured.UnstructuredList); ok {
		// meta.SetList would copy each item again.
		ul.Items = make([]unstructured.Unstructured, len(out))
		for i, x := range out {
			ul.Items[i] = *x.(*unstructured.Unstructured)
		}
		return nil
	}
	return meta.SetList(list, out)
}

// objects are the informer's own objects the options select.
func (w *watched) objects(o *listOptions) ([]Object, error) {
	var items []any
	if o.namespace != "" && w.k.namespaced {
		var err error
		if items, err = w.inf.GetIndexer().ByIndex(cache.NamespaceIndex, o.namespace); err != nil {
			return nil, err
		}
	} else {
		items = w.inf.GetStore().List()
	}
	out := make([]Object, 0, len(items))
	for _, it := range items {
		obj := it.(Object)
		if o.labels == nil || o.labels.Matches(labels.Set(obj.GetLabels())) {
			out = append(out, obj)
		}
	}
	return out, nil
}

// ObjectLister is a Reader that can hand out its own objects, for
// ListPointers: ok is false for a kind it does not hold.
type ObjectLister interface {
	ListObjects(list ObjectList, opts ...ListOption) (objs []Object, ok bool, err error)
}

// ListObjects is ListPointers' path through the cache: the informer's
// objects themselves, or not ok for a kind not watched.
func (c *Cached) ListObjects(list ObjectList, opts ...ListOption) ([]Object, bool, error) {
	w, err := c.watchedFor(list)
	if err != nil || w == nil {
		return nil, false, err
	}
	objs, err := w.objects((&listOptions{}).apply(opts))
	return objs, true, err
}

// ListPointers lists T objects (list is an empty list of them, for the
// kind) as pointers. From a Cached client they are the cache's own
// objects (also any ObjectLister's), which the caller must not change: a pass that reads every
// Service and EndpointSlice then copies none (a typed List copies each
// struct into the list even with NoCopy: at 50,000 Services, 35 MB of
// garbage per pass). From any other Reader they point into a listed
// copy.
func ListPointers[T any](ctx context.Context, r Reader, list ObjectList, opts ...ListOption) ([]*T, error) {
	if c, ok := r.(ObjectLister); ok {
		objs, watched, err := c.ListObjects(list, opts...)
		if err != nil {
			return nil, err
		}
		if watched {
			out := make([]*T, len(objs))
			for i, o := range objs {
				out[i] = any(o).(*T)
			}
			return out, nil
		}
	}
	if err := r.List(ctx, list, opts...); err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]*T, len(items))
	for i, o := range items {
		out[i] = any(o).(*T)
	}
	return out, nil
}
