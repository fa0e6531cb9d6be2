package app

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/cputime"
	"github.com/barelb/barelb/testsupport/scale"
)

// listReader lists stored objects the way the informer cache does: List
// with each item's struct copied into the list, its maps and slices
// shared (kclient.NoCopy), ListObjects with the objects themselves. Nothing else is implemented: the benchmark's
// reconciler writes nothing (no status sync, no ConfigurationState).
type listReader struct {
	client.Client
	nodes  []corev1.Node
	svcs   []corev1.Service
	eps    []discoveryv1.EndpointSlice
	config map[string][]unstructured.Unstructured // by kind
}

func (l *listReader) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	switch x := list.(type) {
	case *corev1.NodeList:
		x.Items = slices.Clone(l.nodes)
	case *corev1.ServiceList:
		x.Items = slices.Clone(l.svcs)
	case *discoveryv1.EndpointSliceList:
		x.Items = slices.Clone(l.eps)
	case *unstructured.UnstructuredList:
		x.Items = slices.Clone(l.config[strings.TrimSuffix(x.GetKind(), "List")])
	default:
		return fmt.Errorf("listReader: %T", list)
	}
	return nil
}

// ListObjects hands out the stored objects themselves, as the speaker's
// cache does for kclient.ListPointers (the configuration kinds go through
// List, as from the cache).
func (l *listReader) ListObjects(list kclient.ObjectList, _ ...kclient.ListOption) ([]kclient.Object, bool, error) {
	var out []kclient.Object
	switch list.(type) {
	case *corev1.NodeList:
		for i := range l.nodes {
			out = append(out, &l.nodes[i])
		}
	case *corev1.ServiceList:
		for i := range l.svcs {
			out = append(out, &l.svcs[i])
		}
	case *discoveryv1.EndpointSliceList:
		for i := range l.eps {
			out = append(out, &l.eps[i])
		}
	default:
		return nil, false, nil
	}
	return out, true, nil
}

// cacheReader is l as the reconciler's kclient.Client: reads through
// ListObjects where the cache would, List otherwise; no writes.
type cacheReader struct {
	kclient.Client
	l *listReader
}

func (c cacheReader) List(ctx context.Context, list kclient.ObjectList, opts ...kclient.ListOption) error {
	return crkube.Reader(c.l).List(ctx, list, opts...)
}

func (c cacheReader) ListObjects(list kclient.ObjectList, opts ...kclient.ListOption) ([]kclient.Object, bool, error) {
	return c.l.ListObjects(list, opts...)
}

// scaleCluster is scale's IPv4 cluster as API objects: nodes Ready,
// each Service with one EndpointSlice holding its ready endpoints.
func scaleCluster(b *testing.B, nodes, services int) *listReader {
	l := &listReader{config: map[string][]unstructured.Unstructured{}}
	for _, n := range scale.Nodes(nodes) {
		l.nodes = append(l.nodes, corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: n.Labels, ResourceVersion: "1"},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}})
	}
	for _, s := range scale.IPv4.Services(services, nodes) {
		ns, name, _ := strings.Cut(s.Key, "/")
		svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "1"},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}
		if s.Local {
			svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		}
		for _, ip := range s.IPs {
			svc.Status.LoadBalancer.Ingress = append(svc.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip.String()})
		}
		l.svcs = append(l.svcs, svc)
		es := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-1", ResourceVersion: "1",
			Labels: map[string]string{discoveryv1.LabelServiceName: name}}, AddressType: discoveryv1.AddressTypeIPv4}
		for n := range s.ReadyNodes {
			es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"198.18.99.1"}, NodeName: ptr.To(n),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
		}
		l.eps = append(l.eps, es)
	}
	in := scale.Input()
	for kind, objs := range map[string][]any{
		config.KindPool:  {&in.Pools[0]},
		config.KindL2Adv: {&in.L2Advertisements[0]},
	} {
		for _, o := range objs {
			u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
			if err != nil {
				b.Fatal(err)
			}
			x := unstructured.Unstructured{Object: u}
			x.SetNamespace(testNS)
			l.config[kind] = append(l.config[kind], x)
		}
	}
	return l
}

// BenchmarkLayer2PassScale times one whole layer 2 pass of the speaker
// (snapshot, plan, announcements, Events; the status writes, which run
// off the pass, excluded) at 5,000 nodes and 50,000 IPv4 Services, over
// lists that copy like the informer cache's: a pass where nothing
// changed, one where a Service's EndpointSlice changed, one where a node
// went away; full-plan is the unchanged pass planning from scratch, as
// every pass did before the planFeed. The plan is l2plan's Sync; the
// rest is what every pass costs whatever changed.
func BenchmarkLayer2PassScale(b *testing.B) {
	nodes, services := 5000, 50000
	if testing.Short() {
		nodes, services = 100, 1000
	}
	l := scaleCluster(b, nodes, services)
	alive := map[string]bool{}
	for _, n := range l.nodes {
		alive[n.Name] = true
	}
	r := &layer2Reconciler{Client: cacheReader{l: l}, opts: Options{NodeName: scale.NodeName(0), Namespace: testNS}, l2: &fakeAnnouncer{},
		tell:      kube.NewTeller(&events.FakeRecorder{}),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bench_announced"}, []string{"ip", "node", "protocol"}),
		alive:     func() map[string]bool { return alive },
		submit:    func(string, func(context.Context) error) {},
	}
	pass := func(b *testing.B) {
		if _, err := r.Reconcile(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	pass(b) // the first: a full plan
	name := fmt.Sprintf("nodes=%d/services=%d", nodes, services)
	timed := func(b *testing.B, before, after func(i int)) {
		b.ReportAllocs()
		cpu := cputime.Start()
		for i := 0; b.Loop(); i++ {
			b.StopTimer()
			cpu.Stop()
			before(i)
			cpu.Start()
			b.StartTimer()
			pass(b)
			b.StopTimer()
			cpu.Stop()
			after(i)
			cpu.Start()
			b.StartTimer()
		}
		cpu.Report(b)
	}
	none := func(int) {}
	// Before the planFeed: a full plan (l2plan.Compute) on every pass.
	b.Run("full-plan/"+name, func(b *testing.B) { timed(b, func(int) { r.feed.p = nil }, none) })
	b.Run("unchanged/"+name, func(b *testing.B) { timed(b, none, none) })
	b.Run("endpoints-changed/"+name, func(b *testing.B) {
		timed(b, func(i int) {
			es := &l.eps[(i*7919)%len(l.eps)]
			es.ResourceVersion = fmt.Sprint(i + 2)
			es.Endpoints = []discoveryv1.Endpoint{{Addresses: []string{"198.18.99.1"}, NodeName: ptr.To(scale.NodeName(i % nodes)),
				Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}}
		}, none)
	})
	all := l.nodes
	b.Run("node-gone/"+name, func(b *testing.B) {
		timed(b, func(i int) {
			j := 1 + (i*7)%(nodes-1)
			l.nodes = slices.Delete(slices.Clone(all), j, j+1)
		}, func(int) {
			l.nodes = all
			pass(b)
		})
	})
	if st := r.feed.last; st.Rebuilt {
		b.Fatalf("the last pass planned from scratch: %+v", st)
	}
}
