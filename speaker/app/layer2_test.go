package app

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/testsupport/check"
)

// These tests drive the layer 2 reconciler with a fake API client and a
// fake announcer: no sockets and no API server, so every rule of the
// reconciler (inputs, Events once per change, status objects, the
// majority rule) is tested on its own. The root-only e2e suite proves the
// same end to end.

const testNS = "metallb-system"

// fakeAnnouncer records what the reconciler asks for; every interface is
// up, so Announced returns eth0 for each IP.
type fakeAnnouncer struct {
	set       map[netip.Addr]layer2.Announcement
	reasserts int
	// conflicts is what Conflicts returns; a ForeignHost conflict keeps
	// its IP off Announced, as the real announcer does.
	conflicts []layer2.Conflict
}

func (f *fakeAnnouncer) Conflicts() []layer2.Conflict { return f.conflicts }

func (f *fakeAnnouncer) SetAnnounced(m map[netip.Addr]layer2.Announcement) { f.set = m }
func (f *fakeAnnouncer) Reassert()                                         { f.reasserts++ }
func (f *fakeAnnouncer) Announced() map[netip.Addr][]string {
	out := map[netip.Addr][]string{}
	for ip := range f.set {
		out[ip] = []string{"eth0"}
		if slices.ContainsFunc(f.conflicts, func(c layer2.Conflict) bool { return c.IP == ip && c.Kind == layer2.ForeignHost }) {
			out[ip] = []string{}
		}
	}
	return out
}

type l2Fixture struct {
	t     *testing.T
	c     client.Client
	rec   *events.FakeRecorder
	ann   *fakeAnnouncer
	r     *layer2Reconciler
	alive map[string]bool
}

func newL2Fixture(t *testing.T, node string, objs ...client.Object) *l2Fixture {
	t.Helper()
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(objs...).
		WithStatusSubresource(&v1beta1.ServiceL2Status{}, &corev1.Service{}, &v1beta1.ConfigurationState{}).Build()
	f := &l2Fixture{t: t, c: c, rec: events.NewFakeRecorder(100), ann: &fakeAnnouncer{}}
	f.r = &layer2Reconciler{
		Client: crkube.Client(c), api: crkube.Reader(c), opts: Options{NodeName: node, Namespace: testNS}, l2: f.ann,
		tell:      kube.NewTeller(f.rec),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_announced"}, []string{"ip", "node", "protocol"}),
		alive:     func() map[string]bool { return f.alive },
		// Status syncs run inline, so a test sees their result at once.
		submit: func(_ string, sync func(context.Context) error) { check.Must(t, sync(context.Background())) },
	}
	return f
}

func (f *l2Fixture) reconcile() {
	f.t.Helper()
	if _, err := f.r.Reconcile(context.Background()); err != nil {
		f.t.Fatal(err)
	}
}

// events returns the Events sent since the last call.
func (f *l2Fixture) events() []string {
	var out []string
	for {
		select {
		case e := <-f.rec.Events:
			out = append(out, e)
		default:
			return out
		}
	}
}

func pool(name string, created time.Time, addrs ...string) *v1beta1.IPAddressPool {
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name, CreationTimestamp: metav1.NewTime(created)}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	return p
}

func l2adv(name string) *v1beta1.L2Advertisement {
	return &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: name}}
}

func node(name string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
}

// lbService is a LoadBalancer Service holding ip with a ready endpoint on
// readyOn.
func lbService(name, ip, readyOn string) (*corev1.Service, *discoveryv1.EndpointSlice) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name},
		Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip}}}}}
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "apps", Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.99.1"}, NodeName: ptr.To(readyOn), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	}
	return svc, slice
}

func countWith(evs []string, frag string) int {
	n := 0
	for _, e := range evs {
		if strings.Contains(e, frag) {
			n++
		}
	}
	return n
}

func TestLayer2AnnouncesOnceAndWritesStatus(t *testing.T) {
	svc, slice := lbService("web", "198.18.60.5", "n1")
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "198.18.60.0/24"), l2adv("all"), node("n1"), svc, slice)
	f.alive = map[string]bool{"n1": true}
	f.reconcile()
	f.reconcile()
	if _, ok := f.ann.set[netip.MustParseAddr("198.18.60.5")]; !ok || len(f.ann.set) != 1 {
		t.Fatalf("announced %v, want 198.18.60.5", f.ann.set)
	}
	evs := f.events()
	if countWith(evs, "nodeAssigned") != 1 {
		t.Fatalf("events %q: want one nodeAssigned for two reconciles", evs)
	}
	var sts v1beta1.ServiceL2StatusList
	check.Must(t, f.c.List(context.Background(), &sts, client.InNamespace(testNS)))
	if len(sts.Items) != 1 || sts.Items[0].Status.Node != "n1" || sts.Items[0].Status.ServiceName != "web" ||
		len(sts.Items[0].Status.Interfaces) != 1 || sts.Items[0].Labels[LabelNode] != "n1" {
		t.Fatalf("ServiceL2Status objects %+v", sts.Items)
	}
	// The Service goes away: the announcement and its status go with it.
	check.Must(t, f.c.Delete(context.Background(), svc))
	f.reconcile()
	check.Must(t, f.c.List(context.Background(), &sts, client.InNamespace(testNS)))
	if len(f.ann.set) != 0 || len(sts.Items) != 0 {
		t.Fatalf("after delete: announced %v, statuses %d", f.ann.set, len(sts.Items))
	}
}

// Stopping one IP must not make another IP's Event repeat. The speaker
// once remembered Events under service key + IP and forgot them by string
// suffix, so stopping 1.2.3.4 also forgot 11.2.3.4 and its nodeAssigned
// Event was sent again. (A fake announcer and a fake API: these addresses
// never reach a network.)
func TestLayer2ForgettingOneIPKeepsAnother(t *testing.T) {
	a, sa := lbService("a", "1.2.3.4", "n1")
	b, sb := lbService("b", "11.2.3.4", "n1")
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "1.2.3.0/24", "11.2.3.0/24"), l2adv("all"), node("n1"), a, sa, b, sb)
	f.alive = map[string]bool{"n1": true}
	f.reconcile()
	if n := countWith(f.events(), "nodeAssigned"); n != 2 {
		t.Fatalf("%d nodeAssigned events, want 2", n)
	}
	check.Must(t, f.c.Delete(context.Background(), a))
	f.reconcile()
	if evs := f.events(); countWith(evs, "11.2.3.4") != 0 {
		t.Fatalf("stopping 1.2.3.4 repeated 11.2.3.4's Event: %q", evs)
	}
}

// An IP no node may announce gets a NotAnnounced Event with the reason,
// sent once, by one speaker only (the alive node whose name sorts first).
func TestLayer2NotAnnouncedEventFromOneSpeaker(t *testing.T) {
	svc, slice := lbService("web", "198.18.61.5", "n1")
	objs := []client.Object{pool("p", time.Now(), "198.18.61.0/24"), node("n1"), node("n2"), svc, slice} // no L2Advertisement
	alive := map[string]bool{"n1": true, "n2": true}
	first := newL2Fixture(t, "n1", objs...)
	second := newL2Fixture(t, "n2", objs...)
	first.alive, second.alive = alive, alive
	for i := 0; i < 2; i++ {
		first.reconcile()
		second.reconcile()
	}
	evs := first.events()
	if countWith(evs, "NotAnnounced") != 1 || countWith(evs, "no L2Advertisement covers IPAddressPool p") != 1 {
		t.Fatalf("reporter's events %q: want one NotAnnounced naming the missing L2Advertisement", evs)
	}
	if evs := second.events(); len(evs) != 0 {
		t.Fatalf("the other speaker sent %q", evs)
	}
	// Fixed, then broken again: the Event is news again.
	adv := l2adv("all")
	check.Must(t, first.c.Create(context.Background(), adv))
	first.reconcile()
	if n := countWith(first.events(), "NotAnnounced"); n != 0 {
		t.Fatalf("%d NotAnnounced events while an L2Advertisement covers the pool", n)
	}
	check.Must(t, first.c.Delete(context.Background(), adv))
	first.reconcile()
	if n := countWith(first.events(), "NotAnnounced"); n != 1 {
		t.Fatalf("%d NotAnnounced events after the problem returned, want 1", n)
	}
}

// A Service in a pool announced over BGP only gets no layer 2
// NotAnnounced Event: no L2Advertisement is no problem there.
func TestLayer2NoEventForBGPOnlyPool(t *testing.T) {
	svc, slice := lbService("web", "198.18.61.5", "n1")
	bgpAdv := &v1beta1.BGPAdvertisement{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "bgp"}}
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "198.18.61.0/24"), bgpAdv, node("n1"), svc, slice)
	f.alive = map[string]bool{"n1": true}
	f.reconcile()
	if evs := f.events(); countWith(evs, "NotAnnounced") != 0 {
		t.Fatalf("events %q: a BGP-only pool got a layer 2 NotAnnounced", evs)
	}
}

// A speaker removes a dead node's status object for a Service it took
// over only while it sees a majority of nodes alive: a node cut off from
// the LAN sees everybody dead and must not delete the real owner's.
func TestLayer2DeadNodeStatusNeedsMajority(t *testing.T) {
	svc, slice := lbService("web", "198.18.62.5", "n1")
	// Local policy with the only endpoint on n1: n1 is the one candidate.
	svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	stale := &v1beta1.ServiceL2Status{ObjectMeta: ownedMeta(Options{Namespace: testNS, NodeName: "n3"}, "l2-", "apps/web", "web", "apps")}
	stale.Status = v1beta1.MetalLBServiceL2Status{Node: "n3", ServiceName: "web", ServiceNamespace: "apps"}
	objs := []client.Object{pool("p", time.Now(), "198.18.62.0/24"), l2adv("all"), node("n1"), node("n2"), node("n3"), svc, slice, stale}
	for _, tc := range []struct {
		name  string
		alive map[string]bool
		kept  bool
	}{
		{"minority", map[string]bool{"n1": true}, true},
		{"majority", map[string]bool{"n1": true, "n2": true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var fresh []client.Object
			for _, o := range objs {
				fresh = append(fresh, o.DeepCopyObject().(client.Object))
			}
			f := newL2Fixture(t, "n1", fresh...)
			f.alive = tc.alive
			f.reconcile()
			if _, ok := f.ann.set[netip.MustParseAddr("198.18.62.5")]; !ok {
				t.Fatalf("n1 does not announce the IP: %v", f.ann.set)
			}
			err := f.c.Get(context.Background(), client.ObjectKeyFromObject(stale), &v1beta1.ServiceL2Status{})
			if kept := err == nil; kept != tc.kept {
				t.Fatalf("dead node's status kept=%v, want %v (err %v)", kept, tc.kept, err)
			}
		})
	}
}

// Two overlapping pools created in the same second: the speaker keeps the
// one the controller allocated from (its ip-allocated-from-pool
// annotation), not the one whose name sorts first. It used to build its
// configuration without that input and could keep the other pool.
func TestSnapshotKeepsThePoolInUse(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	svc, slice := lbService("web", "198.18.63.5", "n1")
	svc.Annotations = map[string]string{"metallb.io/ip-allocated-from-pool": "b-pool"}
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(
		pool("a-pool", now, "198.18.63.0/24"), pool("b-pool", now, "198.18.63.0/25"), node("n1"), svc, slice).Build()
	snap, err := readSnapshot(context.Background(), crkube.Reader(c), Options{NodeName: "n1", Namespace: testNS}, nil, nil)
	check.Must(t, err)
	if _, ok := snap.cfg.Pools["b-pool"]; !ok || len(snap.cfg.Pools) != 1 {
		t.Fatalf("pools kept %v, want only b-pool (the one in use)", keys(snap.cfg.Pools))
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
