package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/explain"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// sessionsBGP is a BGPServer whose sessions are what the test says.
type sessionsBGP struct {
	mu     sync.Mutex
	states []bgp.PeerState
}

func (s *sessionsBGP) SetPeers(context.Context, []bgpmodel.Peer) error                   { return nil }
func (s *sessionsBGP) SetAdvertisements(context.Context, []bgpmodel.Advertisement) error { return nil }
func (s *sessionsBGP) Shutdown(context.Context) error                                    { return nil }
func (s *sessionsBGP) PeerStates(context.Context) []bgp.PeerState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.states)
}
func (s *sessionsBGP) set(states ...bgp.PeerState) {
	s.mu.Lock()
	s.states = states
	s.mu.Unlock()
}

// envSpeaker is one node's layer 2 and BGP reconcilers sharing one
// ConfigurationState, as Run wires them, against a real API server;
// status writes run inline and the ConfigurationState writes are counted.
type envSpeaker struct {
	t      *testing.T
	l2     *layer2Reconciler
	bgp    *BGPReconciler
	srv    *sessionsBGP
	writes *int
	// statusWrites counts its per-IP status object writes
	// (ServiceL2Status, ServiceBGPStatus).
	statusWrites *int
}

// newEnvSpeaker counts its ConfigurationState writes in *writes and its
// per-IP status object writes in *statusWrites (a restarted speaker keeps
// the tallies of the one it replaces).
func newEnvSpeaker(t *testing.T, c client.WithWatch, node string, srv *sessionsBGP, writes, statusWrites *int) *envSpeaker {
	sp := &envSpeaker{t: t, srv: srv, writes: writes, statusWrites: statusWrites}
	counted := countStateWrites(c, writes)
	c = countStatusObjectWrites(c, statusWrites)
	opts := Options{NodeName: node, Namespace: testNS}
	inline := func(_ string, sync func(context.Context) error) { check.Must(t, sync(context.Background())) }
	state := &speakerState{Client: crkube.Client(counted), api: crkube.Reader(counted), opts: opts}
	sp.l2 = &layer2Reconciler{
		Client: crkube.Client(c), api: crkube.Reader(c), opts: opts, l2: &fakeAnnouncer{},
		tell:      kube.NewTeller(events.NewFakeRecorder(100000)),
		announced: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "test_announced"}, []string{"ip", "node", "protocol"}),
		alive:     func() map[string]bool { return map[string]bool{"n1": true, "n2": true} },
		view:      func() map[string]string { return map[string]string{"n1": "alive", "n2": "alive"} },
		submit:    inline, state: state,
	}
	sp.bgp = NewBGPReconciler(crkube.Client(c), crkube.Reader(c), events.NewFakeRecorder(100000), opts, func(netip.Addr) (BGPServer, error) { return srv, nil })
	sp.bgp.submit = inline
	sp.bgp.useState(state)
	return sp
}

// reconcile runs both reconcilers once, as a change of any object does.
func (sp *envSpeaker) reconcile() {
	sp.t.Helper()
	_, err := sp.l2.Reconcile(context.Background())
	check.Must(sp.t, err)
	check.Must(sp.t, sp.bgp.ReconcileOnce(context.Background()))
}

// sessionsChanged is what the session watcher does on its tick.
func (sp *envSpeaker) sessionsChanged() {
	b := sp.bgp
	b.mu.Lock()
	cfg, verdicts := b.applied, b.verdicts
	b.mu.Unlock()
	b.publishState(context.Background(), cfg, verdicts, sp.srv)
}

var (
	torUp   = bgp.PeerState{Name: "tor", Address: netip.MustParseAddrPort("198.18.0.1:179"), State: bgp.StateEstablished}
	torDown = bgp.PeerState{Name: "tor", Address: netip.MustParseAddrPort("198.18.0.1:179"), State: bgp.StateActive, LastError: "hold timer expired"}
	downPr  = bgp.PeerState{Name: "down", Address: netip.MustParseAddrPort("198.18.0.2:179"), State: bgp.StateActive, LastError: "connect: connection refused"}
)

type envObjects struct {
	t   *testing.T
	ctx context.Context
	c   client.Client
}

func (e envObjects) create(objs ...client.Object) {
	e.t.Helper()
	for _, o := range objs {
		check.Must(e.t, e.c.Create(e.ctx, o))
	}
}

// lb creates a LoadBalancer Service holding ip, with a ready endpoint on n1.
func (e envObjects) lb(name, ip string, labels map[string]string) {
	e.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: ptr.To(false),
			Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}}}
	e.create(svc)
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
	check.Must(e.t, e.c.Status().Update(e.ctx, svc))
	e.create(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "apps", Name: name + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: name}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"198.18.99.1"}, NodeName: ptr.To("n1"),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
	})
}

func (e envObjects) state(node string) v1beta1.ConfigurationState {
	e.t.Helper()
	var cs v1beta1.ConfigurationState
	check.Must(e.t, e.c.Get(e.ctx, client.ObjectKey{Namespace: testNS, Name: node}, &cs))
	return cs
}

// TestSpeakerBGPReasonsOnAPIServer: each speaker publishes, per IP it
// considered for BGP, whether it advertises it and to which peers, or why
// not, in its ConfigurationState next to the layer 2 verdicts; `kubectl
// barelb explain svc` shows them. Then the cost at 1,000 IPs: writes
// after one Service changes, after a session goes down, and after a
// restart, counted on a real API server.
func TestSpeakerBGPReasonsOnAPIServer(t *testing.T) {
	env, err := testenv.Start()
	check.Must(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	c, err := client.NewWithWatch(env.Config, client.Options{Scheme: crkube.Scheme()})
	check.Must(t, err)
	e := envObjects{t: t, ctx: ctx, c: c}
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: testNS, Name: name} }
	poolOf := func(name, cidr string) *v1beta1.IPAddressPool {
		return &v1beta1.IPAddressPool{ObjectMeta: meta(name), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(cidr)}}}
	}
	e.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testNS}}, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}})
	for i, n := range []string{"n1", "n2"} {
		obj := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{"rack": fmt.Sprint(i + 1)}}}
		e.create(obj)
		obj.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: fmt.Sprintf("198.18.0.%d", 11+i)}}
		obj.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
		check.Must(t, c.Status().Update(ctx, obj))
	}
	e.create(
		poolOf("l2pool", "198.18.70.0/24"), poolOf("bgppool", "198.18.72.0/22"), poolOf("downpool", "198.18.76.0/24"),
		poolOf("goldpool", "198.18.77.0/24"), poolOf("barepool", "198.18.78.0/24"),
		&v1beta1.L2Advertisement{ObjectMeta: meta("l2"), Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"l2pool"}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta("rack1"), Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"bgppool"},
			NodeSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"rack": "1"}}}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta("downonly"), Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"downpool"}, Peers: []string{"down"}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta("gold"), Spec: v1beta1.BGPAdvertisementSpec{IPAddressPools: []string{"goldpool"},
			ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"tier": "gold"}}}}},
		&v1beta2.BGPPeer{ObjectMeta: meta("tor"), Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1"}},
		&v1beta2.BGPPeer{ObjectMeta: meta("down"), Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.2"}},
	)
	e.lb("web-l2", "198.18.70.1", nil)
	e.lb("web-bgp", "198.18.72.1", nil)
	e.lb("web-down", "198.18.76.1", nil)
	e.lb("plain", "198.18.77.1", nil)
	e.lb("bare", "198.18.78.1", nil)

	speakers := map[string]*envSpeaker{}
	for _, n := range []string{"n1", "n2"} {
		srv := &sessionsBGP{}
		srv.set(torUp, downPr)
		speakers[n] = newEnvSpeaker(t, c, n, srv, new(int), new(int))
		speakers[n].reconcile()
	}
	bgpOf := func(node string) (map[string]v1beta1.BGPAnnouncementState, map[string]v1beta1.AnnouncementState, v1beta1.ConfigurationState) {
		cs := e.state(node)
		b, l := map[string]v1beta1.BGPAnnouncementState{}, map[string]v1beta1.AnnouncementState{}
		for _, a := range cs.Status.BGPAnnouncements {
			b[a.IP] = a
		}
		for _, a := range cs.Status.Announcements {
			l[a.IP] = a
		}
		return b, l, cs
	}
	b1, l1, cs1 := bgpOf("n1")
	if a := b1["198.18.72.1"]; !a.Advertised || !slices.Equal(a.Peers, []string{"tor"}) || !slices.Equal(a.PeersDown, []string{"down"}) {
		t.Errorf("n1 web-bgp: %+v, want advertised to tor, down not established", a)
	}
	if a := b1["198.18.76.1"]; a.Advertised || a.Reason != ReasonPeerNotEstablished || a.Message != "no established session to down" {
		t.Errorf("n1 web-down: %+v", a)
	}
	if a := b1["198.18.77.1"]; a.Reason != "ServiceNotSelected" {
		t.Errorf("n1 plain: %+v", a)
	}
	if a := b1["198.18.78.1"]; a.Reason != "NoBGPAdvertisement" || l1["198.18.78.1"].Reason != "NoAdvertisement" {
		t.Errorf("n1 bare: bgp %+v, l2 %+v; want both kinds missing", a, l1["198.18.78.1"])
	}
	// Each IP under the protocol that handles it only.
	if _, ok := b1["198.18.70.1"]; ok {
		t.Errorf("the layer 2 IP is in the BGP list")
	}
	if _, ok := l1["198.18.72.1"]; ok {
		t.Errorf("the BGP IP is in the layer 2 list: %+v", l1["198.18.72.1"])
	}
	if !l1["198.18.70.1"].Announced && l1["198.18.70.1"].Reason != "NotElected" {
		t.Errorf("n1 web-l2: %+v", l1["198.18.70.1"])
	}
	wantSessions := []v1beta1.BGPSessionState{
		{Peer: "down", Address: "198.18.0.2:179", Message: "connect: connection refused"},
		{Peer: "tor", Address: "198.18.0.1:179", Established: true},
	}
	if !slices.Equal(cs1.Status.BGPSessions, wantSessions) {
		t.Errorf("n1 sessions %+v, want %+v", cs1.Status.BGPSessions, wantSessions)
	}
	b2, _, _ := bgpOf("n2")
	if a := b2["198.18.72.1"]; a.Advertised || a.Reason != "NodeNotSelected" || !strings.Contains(a.Message, "selects node n2") {
		t.Errorf("n2 web-bgp: %+v", a)
	}

	// explain svc shows n1 advertising to tor and why n2 does not.
	out := explainSvc(t, c, "web-bgp")
	t.Logf("explain svc web-bgp:\n%s", out)
	for _, want := range []string{
		"198.18.72.1   n1     bgp         to peers tor; not established: down",
		"n2     no bgp      NodeNotSelected: no BGPAdvertisement for IPAddressPool bgppool selects node n2",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q", want)
		}
	}
	out = explainSvc(t, c, "web-down")
	t.Logf("explain svc web-down:\n%s", out)
	if !strings.Contains(out, "n1     no bgp      PeerNotEstablished: no established session to down (down 198.18.0.2:179: connect: connection refused)") {
		t.Errorf("explain web-down lacks n1's reason")
	}

	t.Run("cost at 1,000 IPs", func(t *testing.T) {
		for i := 0; i < 1000; i++ {
			e.lb(fmt.Sprintf("s%d", i), fmt.Sprintf("198.18.%d.%d", 72+i/250, 2+i%250), nil)
		}
		for _, sp := range speakers {
			sp.reconcile()
		}
		// n1 advertises the 1,000 (rack 1): one ServiceBGPStatus each,
		// created once, in two requests (the API server drops the status
		// of a create: it is written next); n2 none of them.
		t.Logf("FIGURE 1,000 Services added: per-IP status object writes n1 %d, n2 %d", *speakers["n1"].statusWrites, *speakers["n2"].statusWrites)
		if w := *speakers["n1"].statusWrites; w < 2000 || w > 2020 {
			t.Errorf("n1 made %d status object writes for 1,000 advertised Services, want two each", w)
		}
		cs := e.state("n1")
		if len(cs.Status.BGPAnnouncements) < 1000 {
			t.Fatalf("n1 lists %d BGP IPs", len(cs.Status.BGPAnnouncements))
		}
		raw, err := json.Marshal(cs) // with managedFields, as etcd stores it
		check.Must(t, err)
		bare := cs.DeepCopy()
		bare.ManagedFields = nil
		rawBare, err := json.Marshal(bare)
		check.Must(t, err)
		t.Logf("FIGURE without managedFields: %d bytes (%d per IP)", len(rawBare), len(rawBare)/1005)
		// figure counts each speaker's writes during f: at most one
		// ConfigurationState write, and no more per-IP status object
		// writes than maxStatus (the objects of what changed).
		figure := func(what string, maxStatus int, f func()) {
			t.Helper()
			before, beforeStatus := map[string]int{}, map[string]int{}
			for n, sp := range speakers {
				before[n], beforeStatus[n] = *sp.writes, *sp.statusWrites
			}
			f()
			var got []string
			for _, n := range []string{"n1", "n2"} {
				w, sw := *speakers[n].writes-before[n], *speakers[n].statusWrites-beforeStatus[n]
				got = append(got, fmt.Sprintf("%s %d and %d", n, w, sw))
				if w > 1 {
					t.Errorf("%s: %s wrote its ConfigurationState %d times, want at most 1", what, n, w)
				}
				if sw > maxStatus {
					t.Errorf("%s: %s made %d status object writes, want at most %d", what, n, sw, maxStatus)
				}
			}
			t.Logf("FIGURE 1,005 IPs, %s: ConfigurationState and per-IP status object writes %s", what, strings.Join(got, ", "))
		}
		t.Logf("FIGURE n1's ConfigurationState at 1,005 BGP-considered IPs: %d bytes", len(raw))
		if len(raw) > 128<<10 {
			t.Errorf("ConfigurationState is %d bytes at 1,005 IPs", len(raw))
		}
		figure("a pass with nothing changed", 0, func() {
			for _, sp := range speakers {
				sp.reconcile()
			}
		})
		if *speakers["n1"].writes != 3 {
			t.Errorf("n1 wrote %d times so far, want 3 (create and status for 5 IPs, one status for 1,000 more)", *speakers["n1"].writes)
		}
		figure("one Service's endpoint goes unready", 1, func() {
			var s discoveryv1.EndpointSlice
			check.Must(t, c.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "s7-1"}, &s))
			s.Endpoints[0].Conditions.Ready = ptr.To(false)
			check.Must(t, c.Update(ctx, &s))
			for _, sp := range speakers {
				sp.reconcile()
			}
		})
		if a := bgpByIP(e.state("n1"), "198.18.72.9"); a.Reason != "NoReadyEndpoints" {
			t.Errorf("s7 after its endpoint went: %+v", a)
		}
		// A layer 2 Service changing leaves the BGP list as it was.
		figure("the layer 2 Service's endpoint goes unready", 1, func() {
			var s discoveryv1.EndpointSlice
			check.Must(t, c.Get(ctx, client.ObjectKey{Namespace: "apps", Name: "web-l2-1"}, &s))
			s.Endpoints[0].Conditions.Ready = ptr.To(false)
			check.Must(t, c.Update(ctx, &s))
			for _, sp := range speakers {
				sp.reconcile()
			}
		})
		figure("n1's session to tor goes down", 0, func() {
			speakers["n1"].srv.set(torDown, downPr)
			for _, sp := range speakers {
				sp.sessionsChanged()
			}
		})
		if a := bgpByIP(e.state("n1"), "198.18.72.10"); a.Reason != ReasonPeerNotEstablished || a.Message != "no established session to down, tor" {
			t.Errorf("after tor went down: %+v", a)
		}
		restartFrom := *speakers["n1"].writes
		figure("both speakers restart", 0, func() {
			for n, sp := range speakers {
				fresh := newEnvSpeaker(t, c, n, sp.srv, sp.writes, sp.statusWrites)
				speakers[n] = fresh
				fresh.reconcile()
			}
		})
		// The restarted speaker reads its object once and finds it current.
		if w := *speakers["n1"].writes - restartFrom; w != 0 {
			t.Errorf("a restart wrote %d times, want 0", w)
		}
	})
}

func bgpByIP(cs v1beta1.ConfigurationState, ip string) v1beta1.BGPAnnouncementState {
	for _, a := range cs.Status.BGPAnnouncements {
		if a.IP == ip {
			return a
		}
	}
	return v1beta1.BGPAnnouncementState{}
}

// explainSvc renders `kubectl barelb explain svc` from the objects on the
// API server, as the command lists them.
func explainSvc(t *testing.T, c client.Client, name string) string {
	t.Helper()
	ctx := context.Background()
	cl := &explain.Cluster{Namespace: testNS, Now: time.Now()}
	var (
		svcs   corev1.ServiceList
		nodes  corev1.NodeList
		pools  v1beta1.IPAddressPoolList
		l2     v1beta1.L2AdvertisementList
		bgpads v1beta1.BGPAdvertisementList
		peers  v1beta2.BGPPeerList
		states v1beta1.ConfigurationStateList
		bgps   v1beta1.ServiceBGPStatusList
	)
	for _, l := range []client.ObjectList{&svcs, &nodes, &pools, &l2, &bgpads, &peers, &states, &bgps} {
		check.Must(t, c.List(ctx, l))
	}
	cl.Services, cl.Nodes, cl.Pools, cl.L2Advs, cl.BGPAdvs, cl.Peers, cl.States, cl.BGPStatuses =
		svcs.Items, nodes.Items, pools.Items, l2.Items, bgpads.Items, peers.Items, states.Items, bgps.Items
	r, err := explain.ExplainService(cl, "apps", name)
	check.Must(t, err)
	var buf bytes.Buffer
	explain.Printer{W: &buf}.Service(r)
	return buf.String()
}
