package kclient_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.Main(m, &env) }

// The speaker's client against a real API server: writes, cached reads
// in their scope, unstructured reads of the configuration, change
// notifications, Events.
func TestCachedClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	d, err := kclient.NewDirect(env.Config)
	check.Must(t, err)
	for _, ns := range []string{"kc-in", "kc-out"} {
		check.Must(t, d.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	c, err := kclient.NewCached(d, []kclient.Watch{
		{Object: &v1beta1.ServiceL2Status{}, Namespace: "kc-in"},
		{Object: &corev1.Secret{}, Namespace: "kc-in", Labels: map[string]string{"keep": "yes"}},
		{Object: kube.ConfigObject(config.KindPool), Namespace: "kc-in"},
	}, kube.TrimForCache, func(o kclient.Object) {
		mu.Lock()
		seen[o.GetNamespace()+"/"+o.GetName()] = true
		mu.Unlock()
	})
	check.Must(t, err)
	cctx, stop := context.WithCancel(ctx)
	defer stop()
	check.Must(t, c.Start(cctx))

	st := func(ns, name, node string) *v1beta1.ServiceL2Status {
		return &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"node": node}}}
	}
	for _, o := range []*v1beta1.ServiceL2Status{st("kc-in", "a", "n1"), st("kc-in", "b", "n2"), st("kc-out", "c", "n1")} {
		check.Must(t, c.Create(ctx, o))
		o.Status.Node = "n1"
		check.Must(t, c.UpdateStatus(ctx, o))
	}
	check.Must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kc-in", Name: "kept", Labels: map[string]string{"keep": "yes"}}}))
	check.Must(t, c.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kc-in", Name: "other"}}))
	pool := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: "kc-in", Name: "p"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.40.0/24"}}}
	check.Must(t, c.Create(ctx, pool))

	check.Eventually(t, 30*time.Second, "the cache to hold the namespace's statuses, with their status", func() error {
		var l v1beta1.ServiceL2StatusList
		if err := c.List(ctx, &l, kclient.InNamespace("kc-in"), kclient.MatchingLabels(map[string]string{"node": "n1"})); err != nil {
			return err
		}
		if len(l.Items) != 1 || l.Items[0].Name != "a" || l.Items[0].Status.Node != "n1" {
			return fmt.Errorf("listed %+v", l.Items)
		}
		return nil
	})
	// Outside the informer's namespace: not in the cache, though it exists.
	var out v1beta1.ServiceL2Status
	if err := c.Get(ctx, types.NamespacedName{Namespace: "kc-out", Name: "c"}, &out); !apierrors.IsNotFound(err) {
		t.Errorf("cached Get outside the scope: %v, want NotFound", err)
	}
	check.Must(t, d.Get(ctx, types.NamespacedName{Namespace: "kc-out", Name: "c"}, &out))
	// Label scope: the unlabelled Secret is not cached; a kind without an
	// informer (Namespace) is read from the API server.
	check.Eventually(t, 30*time.Second, "the labelled Secret only", func() error {
		var l corev1.SecretList
		if err := c.List(ctx, &l, kclient.InNamespace("kc-in")); err != nil {
			return err
		}
		if len(l.Items) != 1 || l.Items[0].Name != "kept" {
			return fmt.Errorf("listed %d Secrets", len(l.Items))
		}
		return nil
	})
	var ns corev1.Namespace
	check.Must(t, c.Get(ctx, types.NamespacedName{Name: "kc-out"}, &ns))
	// The configuration, unstructured from its informer, as ListConfig
	// reads it.
	check.Eventually(t, 30*time.Second, "the pool through kube.ListConfig", func() error {
		in, err := kube.ListConfig(ctx, c, "kc-in")
		if err != nil {
			return err
		}
		if len(in.Pools) != 1 || in.Pools[0].Name != "p" {
			return fmt.Errorf("pools %+v", in.Pools)
		}
		return nil
	})
	u := kube.ConfigObject(config.KindPool)
	check.Must(t, c.Get(ctx, types.NamespacedName{Namespace: "kc-in", Name: "p"}, u))
	if u.GetUID() == "" {
		t.Errorf("unstructured Get returned %v", u.Object)
	}
	// Copies: changing what List returned leaves the cache alone.
	var l v1beta1.ServiceL2StatusList
	check.Must(t, c.List(ctx, &l, kclient.InNamespace("kc-in")))
	l.Items[0].Status.Node = "changed"
	var again v1beta1.ServiceL2Status
	check.Must(t, c.Get(ctx, types.NamespacedName{Namespace: "kc-in", Name: l.Items[0].Name}, &again))
	if again.Status.Node != "n1" {
		t.Errorf("the cache's object was changed through a listed copy: %q", again.Status.Node)
	}
	mu.Lock()
	for _, k := range []string{"kc-in/a", "kc-in/b", "kc-in/kept", "kc-in/p"} {
		if !seen[k] {
			t.Errorf("no change notification for %s", k)
		}
	}
	if seen["kc-out/c"] || seen["kc-in/other"] {
		t.Errorf("notified of objects outside the scope: %v", seen)
	}
	mu.Unlock()

	// ListPointers: from the cache, its own objects (the same pointers on
	// every call, nothing copied); from the API server, a listed copy.
	first, err := kclient.ListPointers[v1beta1.ServiceL2Status](ctx, c, &v1beta1.ServiceL2StatusList{}, kclient.InNamespace("kc-in"))
	check.Must(t, err)
	second, err := kclient.ListPointers[v1beta1.ServiceL2Status](ctx, c, &v1beta1.ServiceL2StatusList{}, kclient.InNamespace("kc-in"))
	check.Must(t, err)
	byName := map[string]*v1beta1.ServiceL2Status{}
	for _, o := range first {
		byName[o.Name] = o
	}
	if len(first) != 2 || len(second) != 2 || byName[second[0].Name] != second[0] {
		t.Errorf("cached ListPointers: %d then %d objects, or not the cache's own", len(first), len(second))
	}
	direct, err := kclient.ListPointers[v1beta1.ServiceL2Status](ctx, d, &v1beta1.ServiceL2StatusList{}, kclient.InNamespace("kc-in"))
	check.Must(t, err)
	if len(direct) != 2 || byName[direct[0].Name] == direct[0] {
		t.Errorf("direct ListPointers: %d objects, or the cache's own", len(direct))
	}

	// DeleteAllOf deletes by label in one namespace.
	check.Must(t, c.DeleteAllOf(ctx, &v1beta1.ServiceL2Status{}, kclient.InNamespace("kc-in"), kclient.MatchingLabels(map[string]string{"node": "n1"})))
	check.Eventually(t, 30*time.Second, "n1's status in kc-in gone, the others kept", func() error {
		var l v1beta1.ServiceL2StatusList
		if err := d.List(ctx, &l); err != nil {
			return err
		}
		names := map[string]bool{}
		for _, it := range l.Items {
			names[it.Namespace+"/"+it.Name] = true
		}
		if names["kc-in/a"] || !names["kc-in/b"] || !names["kc-out/c"] {
			return fmt.Errorf("left %v", names)
		}
		return nil
	})

	// Events: posted from the recorder's goroutine, about the object.
	rec := kclient.NewRecorder(d, logr.Discard(), "barelb-test")
	rctx, rstop := context.WithCancel(ctx)
	defer rstop()
	go rec.Run(rctx)
	rec.Eventf(pool, nil, corev1.EventTypeWarning, "TestReason", "Testing", "pool %s is %s", "p", "fine")
	rec.Eventf(u, nil, corev1.EventTypeNormal, "Unstructured", "Testing", "about an unstructured object")
	check.Eventually(t, 30*time.Second, "both Events", func() error {
		var l eventsv1.EventList
		if err := d.List(ctx, &l, kclient.InNamespace("kc-in")); err != nil {
			return err
		}
		got := map[string]eventsv1.Event{}
		for _, e := range l.Items {
			got[e.Reason] = e
		}
		e, ok := got["TestReason"]
		if !ok || e.Note != "pool p is fine" || e.Regarding.Kind != "IPAddressPool" || e.Regarding.UID != pool.UID || e.ReportingController != "barelb-test" {
			return fmt.Errorf("events %+v", l.Items)
		}
		if e := got["Unstructured"]; e.Regarding.Kind != "IPAddressPool" || e.Regarding.Name != "p" {
			return fmt.Errorf("the unstructured object's Event: %+v", e)
		}
		return nil
	})
}
