package kclient

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Object is a Kubernetes object: what Get fills and writes send.
type Object interface {
	metav1.Object
	runtime.Object
}

// ObjectList is a list of objects, typed or unstructured.
type ObjectList interface {
	metav1.ListInterface
	runtime.Object
}

// Reader reads objects.
type Reader interface {
	Get(ctx context.Context, key types.NamespacedName, obj Object) error
	List(ctx context.Context, list ObjectList, opts ...ListOption) error
}

// Writer writes objects; each call is one request to the API server.
type Writer interface {
	Create(ctx context.Context, obj Object) error
	Update(ctx context.Context, obj Object) error
	UpdateStatus(ctx context.Context, obj Object) error
	Delete(ctx context.Context, obj Object) error
	DeleteAllOf(ctx context.Context, obj Object, opts ...ListOption) error
}

// Client reads and writes.
type Client interface {
	Reader
	Writer
}

// ListOption narrows a List or DeleteAllOf.
type ListOption func(*listOptions)

type listOptions struct {
	namespace string
	labels    labels.Selector
	noCopy    bool
}

func (o *listOptions) apply(opts []ListOption) *listOptions {
	for _, f := range opts {
		f(o)
	}
	return o
}

// request is the options' part the API server applies.
func (o *listOptions) request() metav1.ListOptions {
	if o.labels == nil {
		return metav1.ListOptions{}
	}
	return metav1.ListOptions{LabelSelector: o.labels.String()}
}

// ListOptions are a List's options spelled out, for adapters to other
// clients.
type ListOptions struct {
	Namespace string
	Labels    labels.Selector // nil: any
	NoCopy    bool
}

// Options spells out opts.
func Options(opts []ListOption) ListOptions {
	o := (&listOptions{}).apply(opts)
	return ListOptions{Namespace: o.namespace, Labels: o.labels, NoCopy: o.noCopy}
}

// InNamespace lists one namespace only.
func InNamespace(ns string) ListOption { return func(o *listOptions) { o.namespace = ns } }

// MatchingLabels lists objects carrying every one of these labels.
func MatchingLabels(m map[string]string) ListOption {
	return func(o *listOptions) { o.labels = labels.SelectorFromSet(m) }
}

// NoCopy hands out the cache's own objects, which the caller must not
// change: for reads of every Service or EndpointSlice per pass.
func NoCopy(o *listOptions) { o.noCopy = true }

// Direct is a Client whose every call goes to the API server.
type Direct struct {
	scheme *runtime.Scheme
	codecs serializer.CodecFactory
	params runtime.ParameterCodec
	cfg    *rest.Config
	http   *http.Client
	dyn    *dynamic.DynamicClient

	mu   sync.Mutex
	rest map[schema.GroupVersion]*rest.RESTClient
}

// NewDirect returns a Direct client for cfg. All its REST clients share
// one HTTP client, so one connection pool.
func NewDirect(cfg *rest.Config) (*Direct, error) {
	cfg = rest.CopyConfig(cfg)
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfigAndClient(cfg, hc)
	if err != nil {
		return nil, err
	}
	s := Scheme()
	return &Direct{
		scheme: s, codecs: serializer.NewCodecFactory(s), params: runtime.NewParameterCodec(s),
		cfg: cfg, http: hc, dyn: dyn, rest: map[schema.GroupVersion]*rest.RESTClient{},
	}, nil
}

// Scheme is the scheme this client decodes with.
func (d *Direct) Scheme() *runtime.Scheme { return d.scheme }

func (d *Direct) restFor(gv schema.GroupVersion) (*rest.RESTClient, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if rc := d.rest[gv]; rc != nil {
		return rc, nil
	}
	cfg := rest.CopyConfig(d.cfg)
	cfg.GroupVersion = &gv
	cfg.APIPath = "/apis"
	if gv.Group == "" {
		cfg.APIPath = "/api"
	}
	cfg.ContentType = "application/json"
	if builtIn[gv.Group] {
		// Protobuf for Kubernetes' own kinds (custom resources have no
		// protobuf form): a LIST of every Service or EndpointSlice
		// decodes with a fraction of JSON's CPU and garbage, which is
		// the speaker's peak heap at start.
		cfg.ContentType = "application/vnd.kubernetes.protobuf"
		cfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	}
	cfg.NegotiatedSerializer = d.codecs.WithoutConversion()
	rc, err := rest.RESTClientForConfigAndClient(cfg, d.http)
	if err != nil {
		return nil, err
	}
	d.rest[gv] = rc
	return rc, nil
}

// builtIn are the API groups served in protobuf too.
var builtIn = map[string]bool{"": true, "discovery.k8s.io": true, "apps": true, "events.k8s.io": true}

// kind is what a request needs to know of an object's kind.
type kind struct {
	gvk          schema.GroupVersionKind
	resource     string
	namespaced   bool
	unstructured bool
}

func (k kind) gvr() schema.GroupVersionResource { return k.gvk.GroupVersion().WithResource(k.resource) }

// kindOf finds obj's kind: from the object for unstructured ones, from
// the scheme otherwise; a list names its items' kind.
func kindOf(s *runtime.Scheme, obj runtime.Object) (kind, error) {
	var gvk schema.GroupVersionKind
	_, unstr := obj.(runtime.Unstructured)
	if unstr {
		gvk = obj.GetObjectKind().GroupVersionKind()
	} else {
		gvks, _, err := s.ObjectKinds(obj)
		if err != nil {
			return kind{}, err
		}
		gvk = gvks[0]
	}
	if meta.IsListType(obj) {
		gvk.Kind = strings.TrimSuffix(gvk.Kind, "List")
	}
	r, ok := resources[gvk.GroupKind()]
	if !ok {
		return kind{}, fmt.Errorf("kclient: kind %s is not one this client serves", gvk)
	}
	return kind{gvk: gvk, resource: r.name, namespaced: r.namespaced, unstructured: unstr}, nil
}

func (d *Direct) dynFor(k kind, ns string) dynamic.ResourceInterface {
	r := d.dyn.Resource(k.gvr())
	if k.namespaced {
		return r.Namespace(ns)
	}
	return r
}

// request starts a request for obj's kind in ns (ignored for cluster
// kinds).
func (d *Direct) request(k kind, verb, ns string) (*rest.Request, error) {
	rc, err := d.restFor(k.gvk.GroupVersion())
	if err != nil {
		return nil, err
	}
	return rc.Verb(verb).NamespaceIfScoped(ns, k.namespaced).Resource(k.resource), nil
}

func (d *Direct) Get(ctx context.Context, key types.NamespacedName, obj Object) error {
	k, err := kindOf(d.scheme, obj)
	if err != nil {
		return err
	}
	if k.unstructured {
		u, err := d.dynFor(k, key.Namespace).Get(ctx, key.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		obj.(*unstructured.Unstructured).Object = u.Object
		return nil
	}
	req, err := d.request(k, http.MethodGet, key.Namespace)
	if err != nil {
		return err
	}
	return req.Name(key.Name).Do(ctx).Into(obj)
}

func (d *Direct) List(ctx context.Context, list ObjectList, opts ...ListOption) error {
	k, err := kindOf(d.scheme, list)
	if err != nil {
		return err
	}
	o := (&listOptions{}).apply(opts)
	lo := o.request()
	if k.unstructured {
		ul, err := d.dynFor(k, o.namespace).List(ctx, lo)
		if err != nil {
			return err
		}
		*list.(*unstructured.UnstructuredList) = *ul
		return nil
	}
	req, err := d.request(k, http.MethodGet, o.namespace)
	if err != nil {
		return err
	}
	return req.VersionedParams(&lo, d.params).Do(ctx).Into(list)
}

func (d *Direct) write(ctx context.Context, verb string, obj Object, sub string) error {
	k, err := kindOf(d.scheme, obj)
	if err != nil {
		return err
	}
	if k.unstructured {
		return fmt.Errorf("kclient: writes of unstructured %s are not supported", k.gvk.Kind)
	}
	req, err := d.request(k, verb, obj.GetNamespace())
	if err != nil {
		return err
	}
	if verb != http.MethodPost {
		req = req.Name(obj.GetName())
	}
	if sub != "" {
		req = req.SubResource(sub)
	}
	if verb == http.MethodDelete {
		return req.Do(ctx).Error()
	}
	return req.Body(obj).Do(ctx).Into(obj)
}

func (d *Direct) Create(ctx context.Context, obj Object) error {
	return d.write(ctx, http.MethodPost, obj, "")
}

func (d *Direct) Update(ctx context.Context, obj Object) error {
	return d.write(ctx, http.MethodPut, obj, "")
}

func (d *Direct) UpdateStatus(ctx context.Context, obj Object) error {
	return d.write(ctx, http.MethodPut, obj, "status")
}

func (d *Direct) Delete(ctx context.Context, obj Object) error {
	return d.write(ctx, http.MethodDelete, obj, "")
}

// DeleteAllOf deletes every object of obj's kind the options select, in
// one request (deletecollection).
func (d *Direct) DeleteAllOf(ctx context.Context, obj Object, opts ...ListOption) error {
	k, err := kindOf(d.scheme, obj)
	if err != nil {
		return err
	}
	o := (&listOptions{}).apply(opts)
	lo := o.request()
	req, err := d.request(k, http.MethodDelete, o.namespace)
	if err != nil {
		return err
	}
	return req.VersionedParams(&lo, d.params).Do(ctx).Error()
}

// notFound is the API server's answer for a missing object, for reads
// the cache serves.
func notFound(k kind, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: k.gvk.Group, Resource: k.resource}, name)
}
