// Package bgptest checks the speaker's BGP mode against a real API server
// (envtest) and a real router (FRR in a network namespace).
package bgptest

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/speaker/app"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
	"github.com/barelb/barelb/testsupport/testenv"
)

// Network (documentation ranges only):
//
//	rtr  eth0 198.18.0.1/24  FRR, AS 64500 (and 198.18.0.3/24 for the MD5 peer)
//	n0   eth0 198.18.0.11/24 the speaker's GoBGP, AS 64512
//	          198.18.0.12/24 source of a second, MD5-signed session
//	LoadBalancer pool 198.18.100.0/24 (outside envtest's ClusterIP range)
const (
	ns      = "metallb-system"
	node    = "n0"
	svcNS   = "demo"
	nodeIP  = "198.18.0.11"
	routeIP = "198.18.100.10"
)

var lbPrefix = netip.MustParsePrefix(routeIP + "/32")

const frrConf = `frr defaults datacenter
hostname rtr
log timestamp precision 3
router bgp 64500
 bgp router-id 198.18.0.1
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 198.18.0.11 remote-as external
 neighbor 198.18.0.11 passive
 neighbor 198.18.0.11 timers 1 3
 neighbor 198.18.0.12 remote-as external
 neighbor 198.18.0.12 passive
 neighbor 198.18.0.12 timers 1 3
 neighbor 198.18.0.12 password s3cret-md5
 address-family ipv4 unicast
  neighbor 198.18.0.11 activate
  neighbor 198.18.0.12 activate
 exit-address-family
`

// TestBGPModeWithFRR drives the speaker's BGP component from API objects
// and checks what FRR learns.
func TestBGPModeWithFRR(t *testing.T) {
	lab := netlab.NewForTest(t, "spbg")
	sw, err := lab.AddSwitch("sw")
	check.Must(t, err)
	rtr, err := lab.AddNamespace("rtr")
	check.Must(t, err)
	n0, err := lab.AddNamespace("n0")
	check.Must(t, err)
	// The router's second address gives a second session (one session
	// per router address and port).
	_, err = sw.Plug(rtr, "eth0", "198.18.0.1/24", "198.18.0.3/24")
	check.Must(t, err)
	_, err = sw.Plug(n0, "eth0", nodeIP+"/24", "198.18.0.12/24")
	check.Must(t, err)
	router := frrlab.StartForTest(t, rtr, frrlab.Config{BGPD: frrConf})
	newServer := startHelper(t, n0)

	env, err := testenv.Start()
	check.Must(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := env.Client

	// Real Events through the API server, as the speaker sends them.
	cs := kubernetes.NewForConfigOrDie(env.Config)
	bc := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	bc.StartRecordingToSink(ctx.Done())
	t.Cleanup(bc.Shutdown)
	rec := bc.NewRecorder(c.Scheme(), "barelb-speaker")

	for _, n := range []string{ns, svcNS} {
		check.Must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}}))
	}
	nodeObj := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: node, Labels: map[string]string{"rack": "1"}}}
	check.Must(t, c.Create(ctx, nodeObj))
	nodeObj.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: nodeIP}}
	nodeObj.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	check.Must(t, c.Status().Update(ctx, nodeObj))

	meta0 := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: name, Namespace: ns} }
	objs := []client.Object{
		&v1beta1.IPAddressPool{ObjectMeta: meta0("pool"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.100.0/24"}}},
		&v1beta1.Community{ObjectMeta: meta0("communities"), Spec: v1beta1.CommunitySpec{
			Communities: []v1beta1.CommunityAlias{{Name: "tagged", Value: "65000:100"}}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta0("adv"), Spec: v1beta1.BGPAdvertisementSpec{
			IPAddressPools: []string{"pool"}, Communities: []v1beta1.CommunityRef{"tagged", "large:64512:1:2"},
			Peers: []string{"tor"}}},
		// Echo mode is what barelb's BFD refuses, so this peer is not run.
		&v1beta1.BFDProfile{ObjectMeta: meta0("fast"), Spec: v1beta1.BFDProfileSpec{EchoMode: ptr.To(true)}},
		&v1beta2.BGPPeer{ObjectMeta: meta0("tor"), Spec: v1beta2.BGPPeerSpec{
			MyASN: 64512, ASN: 64500, Address: "198.18.0.1",
			HoldTime: &metav1.Duration{Duration: 9 * time.Second}, ConnectTime: &metav1.Duration{Duration: time.Second}}},
		&corev1.Secret{ObjectMeta: meta0("md5"), Type: corev1.SecretTypeBasicAuth,
			Data: map[string][]byte{"username": []byte("x"), "password": []byte("s3cret-md5")}},
		&v1beta2.BGPPeer{ObjectMeta: meta0("tor-md5"), Spec: v1beta2.BGPPeerSpec{
			MyASN: 64512, ASN: 64500, Address: "198.18.0.3", SrcAddress: "198.18.0.12",
			PasswordSecret: corev1.SecretReference{Name: "md5"}, ConnectTime: &metav1.Duration{Duration: time.Second}}},
		&v1beta2.BGPPeer{ObjectMeta: meta0("with-bfd"), Spec: v1beta2.BGPPeerSpec{
			MyASN: 64512, ASN: 64500, Address: "198.18.0.2", BFDProfile: "fast"}},
	}
	for _, o := range objs {
		check.Must(t, c.Create(ctx, o))
	}

	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: svcNS}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}},
		Selector: map[string]string{"app": "web"}}}
	check.Must(t, c.Create(ctx, svc))
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: routeIP}}
	check.Must(t, c.Status().Update(ctx, svc))
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: "web-1", Namespace: svcNS, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"198.18.50.5"}, NodeName: ptr.To(node),
			Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}}},
		Ports: []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
	}
	check.Must(t, c.Create(ctx, slice))

	t.Cleanup(func() {
		if t.Failed() {
			logEvents(t, c, ns, svcNS)
		}
	})
	sp := app.NewBGPReconciler(crkube.Client(c), crkube.Reader(c), rec, app.Options{NodeName: node, Namespace: ns}, newServer)
	go func() { _ = sp.Start(ctx) }() // session Events
	t.Cleanup(func() { _ = sp.Shutdown(context.Background()) })
	// reconciled polls the way the speaker's watches would trigger it:
	// reconcile, then check the outcome, until the deadline.
	reconciled := func(what string, cond func() error) {
		t.Helper()
		check.Eventually(t, 30*time.Second, what, func() error {
			if err := sp.ReconcileOnce(ctx); err != nil {
				return fmt.Errorf("reconcile: %w", err)
			}
			return cond()
		})
	}

	reconciled("FRR has the LoadBalancer route with its communities", func() error {
		paths, err := router.BGPPaths(lbPrefix)
		if err != nil {
			return err
		}
		if len(paths) != 1 {
			return fmt.Errorf("%d paths", len(paths))
		}
		p := paths[0]
		if len(p.Nexthops) == 0 || p.Nexthops[0].IP != nodeIP {
			return fmt.Errorf("next hops %+v", p.Nexthops)
		}
		if !slices.Equal(p.Communities(), []string{"65000:100"}) || !slices.Equal(p.LargeCommunities(), []string{"64512:1:2"}) {
			return fmt.Errorf("communities %v large %v", p.Communities(), p.LargeCommunities())
		}
		return nil
	})
	// The passwordSecret was read and used: FRR only accepts the
	// session with the right TCP MD5 signature. The advertisement names
	// only "tor", so this session carries no route.
	check.Eventually(t, 20*time.Second, "MD5 session from the passwordSecret established", func() error {
		ns, err := router.Neighbors()
		if err != nil {
			return err
		}
		if n := ns["198.18.0.12"]; !n.Established() {
			return fmt.Errorf("neighbor 198.18.0.12: %+v", n)
		}
		return nil
	})
	// bgpd hands the best path to zebra after it shows it: poll for the RIB.
	check.Eventually(t, 10*time.Second, "zebra's RIB holding "+lbPrefix.String(), func() error {
		e, err := router.RIBRoute(lbPrefix, "bgp")
		if err == nil && e == nil {
			err = fmt.Errorf("no bgp route")
		}
		return err
	})

	t.Run("peer conditions", func(t *testing.T) {
		var p v1beta2.BGPPeer
		check.Must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "with-bfd"}, &p))
		cond := meta.FindStatusCondition(p.Status.Conditions, app.ConditionSupported)
		if cond == nil || cond.Status != metav1.ConditionFalse || !strings.Contains(cond.Message, "echoMode is not supported") {
			t.Errorf("with-bfd condition = %+v", cond)
		}
		check.Must(t, c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "tor"}, &p))
		if cond := meta.FindStatusCondition(p.Status.Conditions, app.ConditionSupported); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("tor condition = %+v", cond)
		}
	})
	t.Run("ServiceBGPStatus", func(t *testing.T) {
		// Statuses are written after the routes, off the reconcile path.
		var l v1beta1.ServiceBGPStatusList
		check.Eventually(t, 10*time.Second, "one ServiceBGPStatus", func() error {
			if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
				return err
			}
			if len(l.Items) != 1 || len(l.Items[0].Status.Peers) == 0 {
				return fmt.Errorf("%d ServiceBGPStatus objects: %+v", len(l.Items), l.Items)
			}
			return nil
		})
		s := l.Items[0]
		want := v1beta1.MetalLBServiceBGPStatus{Node: node, ServiceName: "web", ServiceNamespace: svcNS, Peers: []string{"tor"}}
		if s.Status.Node != want.Node || s.Status.ServiceName != want.ServiceName || s.Status.ServiceNamespace != want.ServiceNamespace ||
			!slices.Equal(s.Status.Peers, want.Peers) || s.Labels[app.LabelNode] != node || !strings.HasPrefix(s.Name, "bgp-") {
			t.Errorf("status %s %v = %+v, want %+v", s.Name, s.Labels, s.Status, want)
		}
	})
	t.Run("events once", func(t *testing.T) {
		// Reconciling again with nothing changed sends no new Event.
		check.Must(t, sp.ReconcileOnce(ctx))
		check.Eventually(t, 10*time.Second, "nodeAssigned Event on the Service", func() error {
			n, err := countEvents(ctx, c, svcNS, "web", app.ReasonBGPAdvertised)
			if err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("%d Events", n)
			}
			return nil
		})
		check.Eventually(t, 10*time.Second, "PeerRefused Event on with-bfd", func() error {
			n, err := countEvents(ctx, c, ns, "with-bfd", app.ReasonPeerRefused)
			if err == nil && n != 1 {
				err = fmt.Errorf("%d Events", n)
			}
			return err
		})
	})

	// Endpoints go unready: the route is withdrawn and the status removed.
	slice.Endpoints[0].Conditions.Ready = ptr.To(false)
	check.Must(t, c.Update(ctx, slice))
	reconciled("route withdrawn when no endpoint is ready", func() error { return noRoute(router) })
	check.Eventually(t, 10*time.Second, "no ServiceBGPStatus after withdrawal", func() error {
		var l v1beta1.ServiceBGPStatusList
		if err := c.List(ctx, &l, client.InNamespace(ns)); err != nil {
			return err
		}
		if len(l.Items) != 0 {
			return fmt.Errorf("left: %+v", l.Items)
		}
		return nil
	})

	// Ready again, then the Service goes away: withdrawn again.
	slice.Endpoints[0].Conditions.Ready = ptr.To(true)
	check.Must(t, c.Update(ctx, slice))
	reconciled("route back when the endpoint is ready", func() error {
		paths, err := router.BGPPaths(lbPrefix)
		if err == nil && len(paths) != 1 {
			err = fmt.Errorf("%d paths", len(paths))
		}
		return err
	})
	check.Must(t, c.Delete(ctx, svc))
	reconciled("route withdrawn when the Service is deleted", func() error { return noRoute(router) })

	// Shutdown ends the session at once (Cease), not after the hold time.
	check.Must(t, sp.Shutdown(ctx))
	check.Eventually(t, 5*time.Second, "session closed after Shutdown", func() error {
		ns, err := router.Neighbors()
		if err != nil {
			return err
		}
		for _, a := range []string{nodeIP, "198.18.0.12"} {
			if n := ns[a]; n.Established() {
				return fmt.Errorf("%s still established", a)
			}
		}
		return nil
	})
}

func noRoute(r *frrlab.Router) error {
	paths, err := r.BGPPaths(lbPrefix)
	if err == nil && len(paths) != 0 {
		err = fmt.Errorf("%d paths", len(paths))
	}
	return err
}

func countEvents(ctx context.Context, c client.Client, namespace, name, reason string) (int, error) {
	var l eventsv1.EventList
	if err := c.List(ctx, &l, client.InNamespace(namespace)); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range l.Items {
		if e.Regarding.Name != name || e.Reason != reason {
			continue
		}
		// A repeated Event becomes a series on one object; count it all.
		if e.Series != nil {
			n += int(e.Series.Count)
		} else {
			n++
		}
	}
	return n, nil
}

func logEvents(t *testing.T, c client.Client, namespaces ...string) {
	for _, n := range namespaces {
		var l eventsv1.EventList
		if err := c.List(context.Background(), &l, client.InNamespace(n)); err != nil {
			t.Logf("listing events: %v", err)
			continue
		}
		for _, e := range l.Items {
			t.Logf("event %s/%s %s %s: %s", e.Regarding.Kind, e.Regarding.Name, e.Type, e.Reason, e.Note)
		}
	}
}
