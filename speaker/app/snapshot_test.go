package app

import (
	"maps"
	"reflect"
	"testing"

	discoveryv1 "k8s.io/api/discovery/v1"
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
