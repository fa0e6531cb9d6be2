package app

import (
	"context"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
)

// recordingBGP is a BGPServer that keeps the last advertisements set.
type recordingBGP struct{ ads []bgpmodel.Advertisement }

func (r *recordingBGP) SetPeers(context.Context, []bgpmodel.Peer) error { return nil }
func (r *recordingBGP) SetAdvertisements(_ context.Context, ads []bgpmodel.Advertisement) error {
	r.ads = ads
	return nil
}
func (r *recordingBGP) PeerStates(context.Context) []bgp.PeerState { return nil }
func (r *recordingBGP) Shutdown(context.Context) error             { return nil }

// TestHeldBackAdvertisementKeepsItsRoutes: deleting the Community an
// advertisement names leaves the announced route as it was (with the
// community), instead of dropping it or stripping the community.
func TestHeldBackAdvertisementKeepsItsRoutes(t *testing.T) {
	meta := func(name string) metav1.ObjectMeta { return metav1.ObjectMeta{Namespace: testNS, Name: name} }
	comm := &v1beta1.Community{ObjectMeta: meta("c"), Spec: v1beta1.CommunitySpec{Communities: []v1beta1.CommunityAlias{{Name: "gold", Value: "65000:1"}}}}
	objs := []client.Object{
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.11"}}}},
		&v1beta1.IPAddressPool{ObjectMeta: meta("p"), Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.50.0/24"}}},
		&v1beta1.BGPAdvertisement{ObjectMeta: meta("a"), Spec: v1beta1.BGPAdvertisementSpec{Communities: []v1beta1.CommunityRef{"gold"}}},
		&v1beta2.BGPPeer{ObjectMeta: meta("r"), Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1"}},
		comm,
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"}, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
			Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.18.50.7"}}}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4, Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}, NodeName: ptr.To("n1")}}},
	}
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(objs...).Build()
	srv := &recordingBGP{}
	b := NewBGPReconciler(crkube.Client(c), crkube.Reader(c), events.NewFakeRecorder(100), Options{NodeName: "n1", Namespace: testNS},
		func(netip.Addr) (BGPServer, error) { return srv, nil })
	want := bgpmodel.Advertisement{Name: "a/198.18.50.7/32", Prefix: netip.MustParsePrefix("198.18.50.7/32"), Communities: []bgpmodel.Community{bgpmodel.StandardCommunity(65000, 1)}}
	check.Must(t, b.ReconcileOnce(context.Background()))
	if len(srv.ads) != 1 || srv.ads[0].Name != want.Name || len(srv.ads[0].Communities) != 1 || srv.ads[0].Communities[0] != want.Communities[0] {
		t.Fatalf("first plan: %+v, want [%+v]", srv.ads, want)
	}
	check.Must(t, c.Delete(context.Background(), comm))
	for range 2 { // twice: the kept version must also survive the next pass
		check.Must(t, b.ReconcileOnce(context.Background()))
		if len(srv.ads) != 1 || srv.ads[0].Name != want.Name || len(srv.ads[0].Communities) != 1 || srv.ads[0].Communities[0] != want.Communities[0] {
			t.Fatalf("after the Community went away: %+v, want the route unchanged [%+v]", srv.ads, want)
		}
	}
}
