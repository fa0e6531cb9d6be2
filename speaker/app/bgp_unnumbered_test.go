package app

import (
	"context"
	"fmt"
	"net/netip"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/kube/crkube"
)

// noNeighborBGP refuses unnumbered peers for want of a neighbour until
// found is set, as bgp.Server does before the router's first Router
// Advertisement.
type noNeighborBGP struct {
	recordingBGP
	found bool
	peers []bgpmodel.Peer
	state bgp.SessionState // of every unnumbered session
}

func (n *noNeighborBGP) PeerStates(context.Context) []bgp.PeerState {
	var out []bgp.PeerState
	for _, p := range n.peers {
		if p.Interface != "" && n.found {
			out = append(out, bgp.PeerState{Name: p.Name, Interface: p.Interface, State: n.state})
		}
	}
	return out
}

func (n *noNeighborBGP) SetPeers(_ context.Context, peers []bgpmodel.Peer) error {
	n.peers = peers
	errs := bgp.PeerErrors{}
	for _, p := range peers {
		if p.Interface != "" && !n.found {
			errs[p.Name] = fmt.Errorf("interface %q: no IPv6 link-local neighbour yet (%w)", p.Interface, bgp.ErrNoNeighbor)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// TestUnnumberedPeerRetried: a BGPPeer naming an interface reaches the
// server as an unnumbered Peer; while the server has no neighbour for it
// the reconcile asks to run again (nothing in the cluster changes when
// the router appears); once the peer is accepted it asks again, less
// often, only while the session is down (the server then looks for a
// replaced router), and not at all once it is up.
func TestUnnumberedPeerRetried(t *testing.T) {
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(
		&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.11"}}}},
		&v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "fabric"}, Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Interface: "eth1"}},
	).WithStatusSubresource(&v1beta2.BGPPeer{}).Build()
	srv := &noNeighborBGP{}
	b := NewBGPReconciler(crkube.Client(c), crkube.Reader(c), events.NewFakeRecorder(100), Options{NodeName: "n1", Namespace: testNS},
		func(netip.Addr) (BGPServer, error) { return srv, nil })
	res, err := b.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.peers) != 1 || srv.peers[0].Interface != "eth1" || srv.peers[0].Address.IsValid() {
		t.Fatalf("peers given to the server: %+v, want one unnumbered peer on eth1", srv.peers)
	}
	if res != neighborRetry {
		t.Errorf("without a neighbour: %+v, want a retry after %v", res, neighborRetry)
	}
	srv.found, srv.state = true, bgp.StateActive
	if res, err = b.Reconcile(context.Background()); err != nil || res != neighborRecheck {
		t.Errorf("neighbour found, session down: %+v %v, want a recheck after %v", res, err, neighborRecheck)
	}
	srv.state = bgp.StateEstablished
	if res, err = b.Reconcile(context.Background()); err != nil || res != 0 {
		t.Errorf("session up: %+v %v, want no retry", res, err)
	}
}
