package app

import (
	"context"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/go-logr/logr"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// lockedAnnouncer and lockedBGP record what a manager-driven reconciler
// asks for, safe to read from the test goroutine.
type lockedAnnouncer struct {
	mu  sync.Mutex
	set map[netip.Addr]layer2.Announcement
}

func (a *lockedAnnouncer) SetAnnounced(m map[netip.Addr]layer2.Announcement) {
	a.mu.Lock()
	a.set = m
	a.mu.Unlock()
}
func (a *lockedAnnouncer) Announced() map[netip.Addr][]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[netip.Addr][]string{}
	for ip := range a.set {
		out[ip] = []string{"eth0"}
	}
	return out
}
func (a *lockedAnnouncer) Reassert()                    {}
func (a *lockedAnnouncer) Conflicts() []layer2.Conflict { return nil }

type lockedBGP struct {
	mu    sync.Mutex
	peers []bgpmodel.Peer
	ads   []bgpmodel.Advertisement
}

func (b *lockedBGP) SetPeers(_ context.Context, p []bgpmodel.Peer) error {
	b.mu.Lock()
	b.peers = p
	b.mu.Unlock()
	return nil
}
func (b *lockedBGP) SetAdvertisements(_ context.Context, ads []bgpmodel.Advertisement) error {
	b.mu.Lock()
	b.ads = ads
	b.mu.Unlock()
	return nil
}
func (b *lockedBGP) PeerStates(context.Context) []bgp.PeerState { return nil }
func (b *lockedBGP) Shutdown(context.Context) error             { return nil }

// A speaker on a real API server, with objects of every configuration
// kind stored past validation that do not decode: its caches sync, it
// announces the good pool's address in layer 2 and over BGP (to the good
// peer), and its ConfigurationState names every bad object. Before the
// configuration kinds were read unstructured, the typed informers never
// synced and the speaker announced nothing.
func TestSpeakerAnnouncesPastUndecodableObjects(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, c := context.Background(), env.Client
	const ns, node, ip = "barelb-speaker-undecodable", "n1", "198.18.31.7"
	for _, n := range []string{ns, "apps"} {
		check.Must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: ns, Name: name} }
	for _, o := range []client.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.31.11"}}}},
		&v1beta1.IPAddressPool{ObjectMeta: meta("good"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.31.0/24"}}},
		&v1beta1.L2Advertisement{ObjectMeta: meta("good")},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta("good")},
		&v1beta2.BGPPeer{ObjectMeta: meta("good"), Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.31.1"}},
	} {
		check.Must(t, c.Create(ctx, o))
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}}}}
	check.Must(t, c.Create(ctx, svc))
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	check.Must(t, c.Status().Update(ctx, svc))
	// A ready endpoint: without one no node announces the Service.
	check.Must(t, c.Create(ctx, &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "apps", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints:   []discoveryv1.Endpoint{{Addresses: []string{"198.18.31.20"}, NodeName: ptr.To(node)}},
	}))
	bad := env.StoreUndecodableConfig(ctx, t, ns)

	opts := Options{NodeName: node, Namespace: ns}
	// The speaker's own wiring (Run's cache, loops and serve), with fakes
	// for the announcer and GoBGP.
	direct, err := kclient.NewDirect(env.Config)
	check.Must(t, err)
	var lp loops
	cached, err := newCache(direct, opts, &lp)
	check.Must(t, err)
	recorder := kclient.NewRecorder(direct, logr.Discard(), "barelb-speaker")
	ann := &lockedAnnouncer{}
	r := &layer2Reconciler{
		Client: cached, api: direct, opts: opts, l2: ann, tell: kube.NewTeller(recorder),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_undecodable_announced"}, []string{"ip", "node", "protocol"}),
		alive:     func() map[string]bool { return map[string]bool{node: true} },
		submit:    func(_ string, sync func(context.Context) error) { _ = sync(ctx) },
		state:     &speakerState{Client: cached, api: direct, opts: opts},
	}
	srv := &lockedBGP{}
	b := NewBGPReconciler(cached, direct, recorder, opts, func(netip.Addr) (BGPServer, error) { return srv, nil })
	lp.l2 = kclient.NewLoop("layer2", logr.Discard(), r.Reconcile)
	lp.bgp = kclient.NewLoop("bgp", logr.Discard(), b.Reconcile)
	mctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- serve(mctx, logr.Discard(), Options{}, newRegistry(), cached, nil,
			[]func(context.Context){recorder.Run, lp.l2.Run, lp.bgp.Run, func(ctx context.Context) { _ = b.Start(ctx) }})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("speaker: %v", err)
		}
	})

	announced := func() error {
		if _, ok := ann.Announced()[netip.MustParseAddr(ip)]; !ok {
			return fmt.Errorf("layer 2 announces %v", ann.Announced())
		}
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(srv.peers) != 1 || len(srv.ads) != 1 || srv.ads[0].Prefix != netip.MustParsePrefix(ip+"/32") {
			return fmt.Errorf("BGP peers %+v, advertisements %+v", srv.peers, srv.ads)
		}
		return nil
	}
	check.Eventually(t, 60*time.Second, "layer 2 and BGP announcements of the good pool's address", announced)
	named := func() error {
		var cs v1beta1.ConfigurationState
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: node}, &cs); err != nil {
			return err
		}
		if cs.Status.Result != v1beta1.ConfigurationStateInvalid {
			return fmt.Errorf("result %q", cs.Status.Result)
		}
		for _, obj := range bad {
			u := unstructured.Unstructured{Object: obj}
			if want := fmt.Sprintf("%s %q: the stored object cannot be read", u.GetKind(), u.GetName()); !strings.Contains(cs.Status.ErrorSummary, want) {
				return fmt.Errorf("errorSummary %q lacks %q", cs.Status.ErrorSummary, want)
			}
		}
		return nil
	}
	check.Eventually(t, 30*time.Second, "the speaker's ConfigurationState to name every bad object", named)

	// A bad object arriving later (by watch) is named too, and what is
	// announced stays.
	later := map[string]any{"apiVersion": "metallb.io/v1beta1", "kind": "L2Advertisement",
		"metadata": map[string]any{"namespace": ns, "name": "later-bad"}, "spec": map[string]any{"interfaces": "eth0"}}
	check.Must(t, env.StoreUnchecked(ctx, later))
	bad = append(bad, later)
	check.Eventually(t, 30*time.Second, "the speaker's ConfigurationState to name the later bad object", named)
	check.Must(t, announced())
}
