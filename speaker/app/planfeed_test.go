package app

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/internal/l2plan"
	"github.com/barelb/barelb/internal/members"
	"github.com/barelb/barelb/testsupport/check"
)

// TestPlanFeedMatchesCompute drives the layer 2 reconciler through one
// change at a time (Services, endpoints, nodes, liveness, damping,
// links, configuration) and checks after each pass that the plan it
// keeps is l2plan.Compute's on the same snapshot, that it announces
// exactly its share of that plan, and that the pass applied only the
// change (a Service, a node) instead of planning again.
func TestPlanFeedMatchesCompute(t *testing.T) {
	for _, linkAware := range []bool{false, true} {
		t.Run(fmt.Sprintf("linkAware=%v", linkAware), func(t *testing.T) { planFeedSteps(t, linkAware) })
	}
}

func planFeedSteps(t *testing.T, linkAware bool) {
	ctx := context.Background()
	objs := []client.Object{pool("p", time.Now(), "198.18.64.0/24"), l2adv("all")}
	for i := range 4 {
		n := node(fmt.Sprintf("n%d", i+1))
		n.Labels = map[string]string{"zone": []string{"a", "b"}[i%2]}
		objs = append(objs, n)
	}
	for i := range 8 {
		svc, slice := lbService(fmt.Sprintf("web%d", i), fmt.Sprintf("198.18.64.%d", 10+i), fmt.Sprintf("n%d", 1+i%4))
		if i%3 == 0 {
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
		objs = append(objs, svc, slice)
	}
	f := newL2Fixture(t, "n1", objs...)
	f.r.opts.LinkAware = linkAware
	f.alive = map[string]bool{"n1": true, "n2": true, "n3": true, "n4": true, "n5": true}
	metas := map[string]members.NodeMeta{}
	up := func(name string, up bool) {
		m := metas[name]
		m.Interfaces = []members.Interface{{Name: "eth0", Up: up, Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.64.0/24")}}}
		metas[name] = m
	}
	for _, n := range []string{"n1", "n2", "n3", "n4", "n5"} {
		up(n, true)
	}
	// A copy per read, as members.Meta returns.
	f.r.metas = func() map[string]members.NodeMeta {
		out := map[string]members.NodeMeta{}
		for k, v := range metas {
			out[k] = v
		}
		return out
	}

	update := func(o client.Object, change func()) {
		t.Helper()
		check.Must(t, f.c.Get(ctx, client.ObjectKeyFromObject(o), o))
		change()
		check.Must(t, f.c.Update(ctx, o))
	}
	svc := func(name string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name}}
	}
	slice := func(name string) *discoveryv1.EndpointSlice {
		return &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name + "-1"}}
	}
	nodeObj := func(name string) *corev1.Node { return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}} }

	steps := []struct {
		what   string
		change func()
		// want says what the pass must have applied.
		want func(l2plan.SyncStats) bool
	}{
		{"start", func() {}, func(s l2plan.SyncStats) bool { return s.Rebuilt }},
		{"nothing changed", func() {}, func(s l2plan.SyncStats) bool { return !s.Changed() }},
		{"Service added", func() {
			s, sl := lbService("web8", "198.18.64.30", "n2")
			check.Must(t, f.c.Create(ctx, s))
			check.Must(t, f.c.Create(ctx, sl))
		}, services(1, 0)},
		{"endpoint moved", func() {
			sl := slice("web2")
			update(sl, func() { sl.Endpoints[0].NodeName = ptr.To("n4") })
		}, services(1, 0)},
		{"endpoint not ready", func() {
			sl := slice("web3")
			update(sl, func() { sl.Endpoints[0].Conditions.Ready = ptr.To(false) })
		}, services(1, 0)},
		{"Local endpoint moved", func() {
			sl := slice("web0")
			update(sl, func() { sl.Endpoints[0].NodeName = ptr.To("n2") })
		}, services(1, 0)},
		{"Service deleted", func() { check.Must(t, f.c.Delete(ctx, svc("web1"))) }, services(0, 1)},
		{"Service's IP changed", func() {
			s := svc("web4")
			check.Must(t, f.c.Get(ctx, client.ObjectKeyFromObject(s), s))
			s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "198.18.64.40"}}
			check.Must(t, f.c.Status().Update(ctx, s))
		}, services(1, 0)},
		{"Service's labels changed", func() {
			s := svc("web5")
			update(s, func() { s.Labels = map[string]string{"tier": "web"} })
		}, services(1, 0)},
		{"Service's annotation changed (nothing the plan reads)", func() {
			s := svc("web6")
			update(s, func() { s.Annotations = map[string]string{"note": "x"} })
		}, func(s l2plan.SyncStats) bool { return !s.Changed() }},
		{"node excluded", func() {
			n := nodeObj("n3")
			update(n, func() { n.Labels[eligibility.ExcludeLabel] = "" })
		}, nodes(1, 0)},
		{"node dead", func() { f.alive["n2"] = false }, nodes(1, 0)},
		{"node settling", func() {
			m := metas["n4"]
			m.Settling = true
			metas["n4"] = m
		}, nodes(1, 0)},
		{"link down", func() { up("n4", false) }, func(s l2plan.SyncStats) bool {
			return s.Relinked == linkAware && s.ServicesSet+s.NodesSet == 0 && !s.Rebuilt
		}},
		{"node added", func() {
			n := node("n5")
			n.Labels = map[string]string{"zone": "a"}
			check.Must(t, f.c.Create(ctx, n))
		}, nodes(1, 0)},
		{"node deleted", func() { check.Must(t, f.c.Delete(ctx, nodeObj("n4"))) }, nodes(0, 1)},
		{"node back alive", func() { f.alive["n2"] = true }, nodes(1, 0)},
		{"node label changed", func() {
			n := nodeObj("n5")
			update(n, func() { n.Labels["zone"] = "b" })
		}, nodes(1, 0)},
		{"a BGPAdvertisement (nothing layer 2 reads)", func() {
			check.Must(t, f.c.Create(ctx, &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "bgp"}}))
		}, func(s l2plan.SyncStats) bool { return !s.Changed() }},
		{"L2Advertisement narrowed", func() {
			a := l2adv("all")
			update(a, func() {
				a.Spec.NodeSelectors = []metav1.LabelSelector{{MatchLabels: map[string]string{"zone": "a"}}}
				a.Spec.Interfaces = []string{"eth0"}
			})
		}, func(s l2plan.SyncStats) bool { return s.Rebuilt }},
		{"L2Advertisement preferring zone b", func() {
			a := l2adv("all")
			update(a, func() {
				a.Spec.NodeSelectors = nil
				a.Spec.PreferredNodeSelectors = []v1beta1.PreferredNodeSelector{{Weight: 10, Preference: metav1.LabelSelector{MatchLabels: map[string]string{"zone": "b"}}}}
			})
		}, func(s l2plan.SyncStats) bool { return s.Rebuilt }},
		{"link up", func() { up("n4", true) }, func(s l2plan.SyncStats) bool { return s.Relinked == linkAware }},
		{"preferred node dead", func() { f.alive["n5"] = false }, nodes(1, 0)},
	}
	for i, st := range steps {
		st.change()
		f.reconcile()
		label := fmt.Sprintf("step %d (%s)", i, st.what)
		if !st.want(f.r.feed.last) {
			t.Errorf("%s: applied %+v", label, f.r.feed.last)
		}
		f.samePlanAsCompute(label)
	}
}

func services(set, deleted int) func(l2plan.SyncStats) bool {
	return func(s l2plan.SyncStats) bool {
		return s == l2plan.SyncStats{ServicesSet: set, ServicesDeleted: deleted}
	}
}

func nodes(set, deleted int) func(l2plan.SyncStats) bool {
	return func(s l2plan.SyncStats) bool {
		return s == l2plan.SyncStats{NodesSet: set, NodesDeleted: deleted}
	}
}

// samePlanAsCompute fails unless the plan the reconciler keeps is what
// Compute returns for a snapshot read now (every decision, every node's
// refusal) and the announcer holds exactly this node's part of it.
func (f *l2Fixture) samePlanAsCompute(what string) {
	t := f.t
	t.Helper()
	snap, err := readSnapshot(context.Background(), crkube.Reader(f.c), f.r.opts, f.alive, nil)
	check.Must(t, err)
	var metas map[string]members.NodeMeta
	if f.r.metas != nil {
		metas = f.r.metas()
	}
	in, _ := f.r.planInput(snap, metas)
	want := l2plan.Compute(in).Decisions
	got := f.r.feed.p.Plan().Decisions
	if len(got) != len(want) {
		t.Fatalf("%s: %d decisions, want %d", what, len(got), len(want))
	}
	mine := 0
	for ip, w := range want {
		g, ok := got[ip]
		if !ok {
			t.Fatalf("%s: %s missing", what, ip)
		}
		if g.Node != w.Node || !slices.Equal(g.Services, w.Services) || !slices.Equal(g.Interfaces, w.Interfaces) || g.Refusal != w.Refusal {
			t.Fatalf("%s: %s:\n got %q %v %v %+v\nwant %q %v %v %+v", what, ip, g.Node, g.Services, g.Interfaces, g.Refusal, w.Node, w.Services, w.Interfaces, w.Refusal)
		}
		for _, n := range in.Nodes {
			if g.RefusalOf(n.Name) != w.RefusalOf(n.Name) {
				t.Fatalf("%s: %s node %s: refusal %+v, want %+v", what, ip, n.Name, g.RefusalOf(n.Name), w.RefusalOf(n.Name))
			}
		}
		if w.Node == f.r.opts.NodeName {
			mine++
			if a, ok := f.ann.set[ip]; !ok || !slices.Equal(a.Interfaces, w.Interfaces) {
				t.Fatalf("%s: %s is this node's with interfaces %v, announced %v (%v)", what, ip, w.Interfaces, a.Interfaces, ok)
			}
		}
	}
	if len(f.ann.set) != mine {
		t.Fatalf("%s: announces %d IPs, the plan gives this node %d", what, len(f.ann.set), mine)
	}
}
