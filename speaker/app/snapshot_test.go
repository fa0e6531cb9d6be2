package app

import (
	"maps"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// TestReadyCache: a Service keeps its ready nodes' map while its
// EndpointSlices keep their names and versions, and gets a new one (with
// the right nodes) when one changes, appears or goes; a slice without a
// version is read again every pass.
func TestReadyCache(t *testing.T) {
	_, a1 := lbService("a", "198.18.70.1", "n1")
	_, b1 := lbService("b", "198.18.70.2", "n2")
	a1.ResourceVersion, b1.ResourceVersion = "1", "1"
	var c readyCache
	same := func(x, y map[string]bool) bool {
		return x != nil && reflect.ValueOf(x).UnsafePointer() == reflect.ValueOf(y).UnsafePointer()
	}
	want := func(key string, nodes ...string) map[string]bool {
		t.Helper()
		got := c.of(key)
		w := map[string]bool{}
		for _, n := range nodes {
			w[n] = true
		}
		if !maps.Equal(got, w) || (len(nodes) == 0) != (got == nil) {
			t.Fatalf("%s: ready on %v, want %v", key, got, nodes)
		}
		return got
	}
	c.update([]*discoveryv1.EndpointSlice{a1, b1})
	ma, mb := want("apps/a", "n1"), want("apps/b", "n2")

	c.update([]*discoveryv1.EndpointSlice{b1, a1}) // another order
	if !same(ma, want("apps/a", "n1")) || !same(mb, want("apps/b", "n2")) {
		t.Fatal("unchanged slices: new maps")
	}

	a1b := a1.DeepCopy()
	a1b.ResourceVersion, a1b.Endpoints[0].NodeName = "2", ptr.To("n3")
	c.update([]*discoveryv1.EndpointSlice{a1b, b1})
	if same(ma, want("apps/a", "n3")) || !same(mb, want("apps/b", "n2")) {
		t.Fatal("a changed slice: the map kept, or the other Service's map replaced")
	}
	ma = c.of("apps/a")

	// A second slice for a, then not ready, then gone.
	a2 := a1b.DeepCopy()
	a2.Name, a2.ResourceVersion, a2.Endpoints[0].NodeName = "a-2", "5", ptr.To("n4")
	c.update([]*discoveryv1.EndpointSlice{a1b, a2, b1})
	if same(ma, want("apps/a", "n3", "n4")) {
		t.Fatal("a slice added: the map kept")
	}
	a2.ResourceVersion, a2.Endpoints[0].Conditions.Ready = "6", ptr.To(false)
	c.update([]*discoveryv1.EndpointSlice{a1b, a2, b1})
	want("apps/a", "n3")
	c.update([]*discoveryv1.EndpointSlice{a1b, b1})
	want("apps/a", "n3")
	c.update([]*discoveryv1.EndpointSlice{b1})
	want("apps/a")
	if len(c.entries) != 1 {
		t.Fatalf("%d entries for one Service with slices", len(c.entries))
	}

	// No version: nothing says it is unchanged.
	b1.ResourceVersion = ""
	c.update([]*discoveryv1.EndpointSlice{b1})
	mb = want("apps/b", "n2")
	c.update([]*discoveryv1.EndpointSlice{b1})
	if same(mb, want("apps/b", "n2")) {
		t.Fatal("an unversioned slice: the map kept")
	}
}

// svcCache converts a Service again only when the cache holds another
// object or version for it, and forgets the ones no longer listed.
func TestSvcCache(t *testing.T) {
	lb := func(name, rv, ip string) *corev1.Service {
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, ResourceVersion: rv,
				Annotations: map[string]string{"metallb.io/ip-allocated-from-pool": "p"}},
			Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip}}}},
		}
	}
	var c svcCache
	a, b := lb("a", "1", "198.18.50.1"), lb("b", "1", "")
	first := c.convert([]*corev1.Service{a, b}, "")
	if !first[0].use || first[0].svc.Key != "apps/a" || first[0].pool != "p" || len(first[0].svc.IPs) != 1 {
		t.Fatalf("a converted to %+v", first[0])
	}
	if first[1].use {
		t.Fatalf("b has no address but is planned: %+v", first[1])
	}
	again := c.convert([]*corev1.Service{b, a}, "")
	if again[1] != first[0] || again[0] != first[1] {
		t.Fatal("unchanged objects converted again")
	}
	a2 := lb("a", "2", "198.18.50.2") // an update: a new object
	third := c.convert([]*corev1.Service{a2}, "")
	if third[0] == first[0] || third[0].svc.IPs[0].String() != "198.18.50.2" {
		t.Fatalf("updated Service kept its old conversion: %+v", third[0])
	}
	if len(c.byObj) != 1 {
		t.Fatalf("%d entries kept for 1 listed Service", len(c.byObj))
	}
	// The same object changed in place without a version (only tests
	// do that) is converted every time.
	a2.ResourceVersion = ""
	if c.convert([]*corev1.Service{a2}, "")[0] == third[0] {
		t.Fatal("an unversioned object's conversion was reused")
	}
}
