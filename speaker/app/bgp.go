package app

// BGP mode of the speaker (barelb BGP component). The layer 2 reconciler
// calls BGPSpeaker.Reconcile with what gather read; everything BGP-only
// (peers, advertisements, secrets, statuses) is fetched and written here.

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpplan"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/l2plan"
)

// +kubebuilder:rbac:groups=metallb.io,resources=bgppeers;bgpadvertisements;communities;bfdprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=metallb.io,resources=bgppeers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=metallb.io,resources=servicebgpstatuses,verbs=get;list;watch;create;update;patch;delete;deletecollection
// +kubebuilder:rbac:groups=metallb.io,resources=servicebgpstatuses/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",namespace=metallb-system,resources=secrets,verbs=get;list;watch

// BGPServer is what the speaker needs of *bgp.Server. It is an interface
// so a test can drive a server whose sockets live in another network
// namespace (GoBGP cannot be confined to one from inside a process).
type BGPServer interface {
	SetPeers(ctx context.Context, peers []bgp.Peer) error
	SetAdvertisements(ctx context.Context, ads []bgp.Advertisement) error
	PeerStates(ctx context.Context) []bgp.PeerState
	Shutdown(ctx context.Context) error
}

// NewBGPServerFunc creates the node's server once its router ID (the
// node's IPv4 InternalIP, possibly invalid) is known.
type NewBGPServerFunc func(routerID netip.Addr) (BGPServer, error)

// Event reasons of the BGP component.
const (
	ReasonBGPAdvertised    = "nodeAssigned" // MetalLB's reason on Services
	ReasonBGPWithdrawn     = "BGPWithdrawn"
	ReasonPeerRefused      = "PeerRefused"
	ReasonAdvertisementBad = "AdvertisementRefused"
	ReasonSessionUp        = "SessionEstablished"
	ReasonSessionDown      = "SessionDown"
)

// BGPSpeaker runs this node's BGP sessions and announcements from the
// cluster's objects. Reconcile is level-based; Events are sent once per
// change of their message.
type BGPSpeaker struct {
	c         client.Client
	api       client.Reader // uncached reads, where the cache may lag
	recorder  events.EventRecorder
	node      string
	namespace string
	newServer NewBGPServerFunc

	mu     sync.Mutex // serialises Reconcile and Shutdown; guards srv, closed, served
	srv    BGPServer
	closed bool
	served map[string]bool // Services advertised after the last reconcile
	// advertised is how many advertisements the last reconcile set, to
	// log each change once.
	advertised int
	// statuses writes ServiceBGPStatus objects off the reconcile path, so
	// routes never wait for them; it runs in Start.
	statuses *statusSyncer

	toldMu sync.Mutex
	told   map[string]string // "<kind>/<name>" -> last Event message
}

// NewBGPSpeaker returns the component; no GoBGP runs until a BGPPeer
// selects the node.
func NewBGPSpeaker(c client.Client, api client.Reader, rec events.EventRecorder, node, namespace string, newServer NewBGPServerFunc) *BGPSpeaker {
	return &BGPSpeaker{c: c, api: api, recorder: rec, node: node, namespace: namespace, newServer: newServer,
		told: map[string]string{}, served: map[string]bool{}, statuses: newStatusSyncer()}
}

// Reconcile makes the node's BGP state match the cluster. nodes, svcs and
// byKey are what gather returned for the layer 2 plan.
func (b *BGPSpeaker) Reconcile(ctx context.Context, nodes []l2plan.Node, svcs []l2plan.Service, byKey map[string]*corev1.Service) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	cfg, peerObjs, advObjs, err := b.buildConfig(ctx)
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, b.syncPeerConditions(ctx, cfg, peerObjs))

	// Without its Node object the node advertises nothing (bgpplan says
	// why) and no server is started, as the router ID is unknown.
	var self corev1.Node
	found := true
	if err := b.c.Get(ctx, client.ObjectKey{Name: b.node}, &self); err != nil {
		if !apierrors.IsNotFound(err) {
			return errors.Join(append(errs, err)...)
		}
		found = false
	}
	v4, v6 := nodeIPs(&self)
	plan := bgpplan.Compute(bgpplan.Input{
		Config: cfg, Node: b.node, Nodes: nodes, Services: svcs,
		Passwords: b.passwords(ctx, cfg), IPv6NextHop: v6,
	})
	for _, p := range plan.Problems {
		log.FromContext(ctx).Info("BGP plan skipped an input", "problem", p)
	}
	lg := log.FromContext(ctx)
	syncStatuses := func() {
		b.statuses.submit("bgp", func(sctx context.Context) error {
			return b.syncBGPStatuses(log.IntoContext(sctx, lg), plan.Services, byKey)
		})
	}
	if b.srv == nil && (len(plan.Peers) == 0 || !found) {
		b.report(ctx, plan, byKey, peerObjs, advObjs, nil, nil)
		syncStatuses()
		return errors.Join(errs...)
	}
	if b.srv == nil {
		if b.srv, err = b.newServer(v4); err != nil {
			b.srv = nil
			return errors.Join(append(errs, fmt.Errorf("starting BGP server: %w", err))...)
		}
	}
	// Advertisements first: a new session then sends its whole table
	// right after OPEN (see internal/bgp's doc on graceful restart).
	began := time.Now()
	adErr := b.srv.SetAdvertisements(ctx, plan.Advertisements)
	peerErr := b.srv.SetPeers(ctx, plan.Peers)
	routed := time.Since(began)
	b.report(ctx, plan, byKey, peerObjs, advObjs, peerErr, adErr)
	syncStatuses()
	if n := len(plan.Advertisements); n != b.advertised {
		lg.Info("BGP advertisements changed", "prefixes", n, "was", b.advertised, "setIn", routed.Round(time.Millisecond))
		b.advertised = n
	}
	return errors.Join(errs...)
}

// buildConfig lists the BGP objects and builds the validated model. Pools
// are listed again rather than threaded through gather: the cache makes
// it cheap and keeps the layer 2 code untouched.
func (b *BGPSpeaker) buildConfig(ctx context.Context) (*config.Config, []v1beta2.BGPPeer, []v1beta1.BGPAdvertisement, error) {
	ns := client.InNamespace(b.namespace)
	var (
		pools v1beta1.IPAddressPoolList
		advs  v1beta1.BGPAdvertisementList
		peers v1beta2.BGPPeerList
		comms v1beta1.CommunityList
		bfds  v1beta1.BFDProfileList
	)
	for _, l := range []client.ObjectList{&pools, &advs, &peers, &comms, &bfds} {
		if err := b.c.List(ctx, l, ns); err != nil {
			return nil, nil, nil, err
		}
	}
	cfg, problems := config.Build(config.Input{
		Pools: pools.Items, BGPAdvertisements: advs.Items, Peers: peers.Items,
		Communities: comms.Items, BFDProfiles: bfds.Items,
	})
	for _, p := range problems {
		if p.Kind == config.KindPeer || p.Kind == config.KindBGPAdv || p.Kind == config.KindCommunty {
			log.FromContext(ctx).V(1).Info("BGP configuration problem", "kind", p.Kind, "name", p.Name, "problem", p.Message)
		}
	}
	return cfg, peers.Items, advs.Items, nil
}

// passwords reads the passwordSecrets the peers name. Only usable
// Secrets are returned; bgpplan refuses peers whose Secret is missing.
// Values are never logged.
func (b *BGPSpeaker) passwords(ctx context.Context, cfg *config.Config) map[string]string {
	out := map[string]string{}
	for _, p := range cfg.Peers {
		if p.PasswordSecret == "" {
			continue
		}
		if _, done := out[p.PasswordSecret]; done {
			continue
		}
		var s corev1.Secret
		if err := b.c.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: p.PasswordSecret}, &s); err != nil {
			continue
		}
		pw, ok := s.Data["password"]
		if s.Type != corev1.SecretTypeBasicAuth || !ok {
			continue
		}
		out[p.PasswordSecret] = string(pw)
	}
	return out
}

// Shutdown withdraws routes (see bgp.Server.Shutdown) and stops the
// component; later Reconciles do nothing.
func (b *BGPSpeaker) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.srv == nil {
		return nil
	}
	return b.srv.Shutdown(ctx)
}

// nodeIPs returns the node's first IPv4 and IPv6 InternalIP.
func nodeIPs(n *corev1.Node) (v4, v6 netip.Addr) {
	for _, a := range n.Status.Addresses {
		if a.Type != corev1.NodeInternalIP {
			continue
		}
		ip, err := netip.ParseAddr(a.Address)
		if err != nil {
			continue
		}
		ip = ip.Unmap()
		if ip.Is4() && !v4.IsValid() {
			v4 = ip
		} else if ip.Is6() && !v6.IsValid() {
			v6 = ip
		}
	}
	return v4, v6
}

// watchSessions emits an Event on a BGPPeer when its session on this
// node comes up or goes down. Sessions change without any object
// changing, so this polls the in-memory state instead of reconciling.
func (b *BGPSpeaker) watchSessions(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		b.mu.Lock()
		srv, closed := b.srv, b.closed
		b.mu.Unlock()
		if srv == nil || closed {
			continue
		}
		for _, st := range srv.PeerStates(ctx) {
			var p v1beta2.BGPPeer
			if err := b.c.Get(ctx, client.ObjectKey{Namespace: b.namespace, Name: st.Name}, &p); err != nil {
				continue
			}
			kind, reason := corev1.EventTypeNormal, ReasonSessionUp
			msg := fmt.Sprintf("BGP session from node %q to %s is established", b.node, st.Address)
			if st.State != bgp.StateEstablished {
				kind, reason = corev1.EventTypeWarning, ReasonSessionDown
				msg = fmt.Sprintf("BGP session from node %q to %s is not established", b.node, st.Address)
				if st.LastError != "" {
					msg += ": " + st.LastError
				}
			}
			b.tell(&p, "session/"+st.Name, kind, reason, msg)
		}
	}
}

// Start runs the session watcher; BGPSpeaker is a manager.Runnable.
func (b *BGPSpeaker) Start(ctx context.Context) error {
	done := make(chan struct{})
	go func() { defer close(done); _ = b.statuses.Start(ctx) }()
	b.watchSessions(ctx, 2*time.Second)
	<-done
	return nil
}

// tell sends an Event unless the last one under key said the same.
func (b *BGPSpeaker) tell(obj client.Object, key, kind, reason, msg string) {
	b.toldMu.Lock()
	defer b.toldMu.Unlock()
	if b.told[key] == msg {
		return
	}
	b.told[key] = msg
	b.recorder.Eventf(obj, nil, kind, reason, "BGP", "%s", msg)
}

func joinNames(names []string) string {
	if len(names) == 0 {
		return "no peer"
	}
	return strings.Join(names, ", ")
}

// ReconcileOnce gathers the inputs itself (Node readiness instead of
// memberlist, which BGP mode does not use) and reconciles. It is the
// entry point for tests that run the component without the layer 2
// reconciler.
func (b *BGPSpeaker) ReconcileOnce(ctx context.Context, lbClass string) error {
	_, _, nodes, svcs, byKey, err := gather(ctx, b.c, Options{Namespace: b.namespace, LBClass: lbClass}, nil)
	if err != nil {
		return err
	}
	return b.Reconcile(ctx, nodes, svcs, byKey)
}
