package app

// Status, conditions and Events of the BGP component (see bgp.go).

import (
	"context"
	"errors"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/go-logr/logr"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/bgpplan"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
)

// topicBGP is the EventKey topic of a Service's BGP Events.
const topicBGP = "bgp"

// ConditionSupported is the BGPPeer condition saying whether barelb can
// honour every field of the peer (v1beta1.ConditionSupported). It is
// derived from the spec alone, so every speaker computes the same value and
// writes it only when the object differs: concurrent speakers converge
// instead of flapping.
const ConditionSupported = v1beta1.ConditionSupported

// syncPeerConditions sets ConditionSupported on every valid BGPPeer.
func (b *BGPReconciler) syncPeerConditions(ctx context.Context, cfg *config.Config, objs []v1beta2.BGPPeer) error {
	unsupported := map[string][]string{}
	valid := map[string]bool{}
	for _, p := range cfg.Peers {
		valid[p.Name] = true
		unsupported[p.Name] = p.Unsupported
	}
	var firstErr error
	for i := range objs {
		obj := &objs[i]
		if !valid[obj.Name] {
			continue // refused by validation: not this condition's business
		}
		want := metav1.Condition{Type: v1beta1.ConditionSupported, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonAllFieldsHonoured,
			Message: "every field of this peer is supported"}
		if u := unsupported[obj.Name]; len(u) > 0 {
			want.Status, want.Reason = metav1.ConditionFalse, v1beta1.ReasonUnsupportedFields
			want.Message = "the peer is not used: " + strings.Join(u, "; ")
		}
		if !v1beta1.SetCondition(&obj.Status.Conditions, want, obj.Generation) {
			continue
		}
		// A conflict means another speaker wrote first; the watch brings
		// its version back and the next pass finds it equal.
		if err := b.c.UpdateStatus(ctx, obj); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("updating BGPPeer %s status: %w", obj.Name, err)
		}
	}
	return firstErr
}

// report emits the Events of one reconcile, each once per change.
func (b *BGPReconciler) report(ctx context.Context, plan bgpplan.Plan, byKey map[string]*corev1.Service,
	peers []v1beta2.BGPPeer, advs []v1beta1.BGPAdvertisement, peerErr, adErr error) {
	bad := map[string]string{}
	for _, r := range plan.Refused {
		bad[r.Peer] = fmt.Sprintf("node %q does not run this peer: %s", b.opts.NodeName, r.Message())
	}
	var perrs bgpmodel.PeerErrors
	if errors.As(peerErr, &perrs) {
		for name, err := range perrs {
			bad[name] = fmt.Sprintf("node %q cannot run this peer: %v", b.opts.NodeName, err)
		}
	} else if peerErr != nil {
		logr.FromContextOrDiscard(ctx).Error(peerErr, "configuring BGP peers")
	}
	for i := range peers {
		key := kube.EventKey{Kind: "BGPPeer", Namespace: peers[i].Namespace, Name: peers[i].Name, Topic: "refusal"}
		if msg, ok := bad[peers[i].Name]; ok {
			b.tell.Tell(&peers[i], key, corev1.EventTypeWarning, ReasonPeerRefused, "BGP", msg)
		} else {
			b.tell.Forget(key) // a later refusal is news again
		}
	}

	adMsgs := map[string][]string{}
	var aerrs bgpmodel.AdvertisementErrors
	if errors.As(adErr, &aerrs) {
		for name, err := range aerrs {
			adv, _, _ := strings.Cut(name, "/")
			adMsgs[adv] = append(adMsgs[adv], err.Error())
		}
	}
	if adErr != nil && len(aerrs) == 0 {
		logr.FromContextOrDiscard(ctx).Error(adErr, "announcing BGP routes")
	}
	for i := range advs {
		key := kube.EventKey{Kind: "BGPAdvertisement", Namespace: advs[i].Namespace, Name: advs[i].Name, Topic: "refusal"}
		if m := adMsgs[advs[i].Name]; len(m) > 0 {
			sort.Strings(m)
			b.tell.Tell(&advs[i], key, corev1.EventTypeWarning, ReasonAdvertisementBad, "BGP",
				fmt.Sprintf("on node %q: %s", b.opts.NodeName, strings.Join(m, "; ")))
		} else {
			b.tell.Forget(key)
		}
	}

	served := map[string]bool{}
	for key, names := range plan.Services {
		served[key] = true
		if svc := byKey[key]; svc != nil {
			b.tell.Tell(svc, serviceKey(svc, topicBGP), corev1.EventTypeNormal, ReasonBGPAdvertised, "BGP",
				fmt.Sprintf("announcing from node %q with protocol \"bgp\" to %s", b.opts.NodeName, joinNames(names)))
		}
	}
	for key := range b.served {
		if served[key] {
			continue
		}
		if svc := byKey[key]; svc != nil {
			why := plan.NotAdvertised[key]
			if why == "" {
				why = "no BGPAdvertisement applies"
			}
			b.tell.Tell(svc, serviceKey(svc, topicBGP), corev1.EventTypeNormal, ReasonBGPWithdrawn, "BGP",
				fmt.Sprintf("node %q no longer announces it with protocol \"bgp\": %s", b.opts.NodeName, why))
		} else {
			ns, name, _ := strings.Cut(key, "/")
			b.tell.ForgetObject("Service", ns, name)
		}
	}
	b.served = served
}

// syncBGPStatuses keeps one ServiceBGPStatus per Service this node
// advertises, named per node like the layer 2 ones, so speakers never
// write each other's objects.
func (b *BGPReconciler) syncBGPStatuses(ctx context.Context, services map[string][]string, byKey map[string]*corev1.Service) error {
	want := map[string]v1beta1.MetalLBServiceBGPStatus{}
	for key, peers := range services {
		svc := byKey[key]
		if svc == nil {
			continue
		}
		want[key] = v1beta1.MetalLBServiceBGPStatus{Node: b.opts.NodeName, ServiceName: svc.Name, ServiceNamespace: svc.Namespace, Peers: slices.Clone(peers)}
	}
	owned := kube.Owned[*v1beta1.ServiceBGPStatus, v1beta1.MetalLBServiceBGPStatus]{
		Client: b.c, API: b.api,
		List: func(ctx context.Context) ([]*v1beta1.ServiceBGPStatus, error) {
			var l v1beta1.ServiceBGPStatusList
			err := b.c.List(ctx, &l, kclient.InNamespace(b.opts.Namespace), kclient.MatchingLabels(map[string]string{LabelNode: b.opts.NodeName}))
			return ptrs(l.Items), err
		},
		Key: func(o *v1beta1.ServiceBGPStatus) string { return statusKey(o) },
		New: func(key string, st v1beta1.MetalLBServiceBGPStatus) *v1beta1.ServiceBGPStatus {
			return &v1beta1.ServiceBGPStatus{ObjectMeta: ownedMeta(b.opts, "bgp-", key, st.ServiceName, st.ServiceNamespace)}
		},
		Status: func(o *v1beta1.ServiceBGPStatus) *v1beta1.MetalLBServiceBGPStatus { return &o.Status },
		Equal:  sameBGPStatus,
	}
	if err := owned.Sync(ctx, want); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "updating ServiceBGPStatus")
		return err
	}
	return nil
}

func sameBGPStatus(a, b v1beta1.MetalLBServiceBGPStatus) bool {
	return a.Node == b.Node && a.ServiceName == b.ServiceName && a.ServiceNamespace == b.ServiceNamespace &&
		slices.Equal(a.Peers, b.Peers)
}

// ReasonPeerNotEstablished is a BGP verdict's reason when the peers that
// would receive an IP have no established session.
const ReasonPeerNotEstablished = "PeerNotEstablished"

// bgpStateOf is this speaker's BGP part of its ConfigurationState: per IP
// the plan's verdict with the session states applied, and the sessions.
// Nothing is listed when the configuration has no BGPPeer and no
// BGPAdvertisement (a layer 2 cluster pays nothing), nor the IPs of pools
// only L2Advertisements cover (Announcements has them), whatever their
// verdict. Session messages are kept only for sessions that are down, so
// a session that stays up costs no write when GoBGP's last error text
// changes.
func bgpStateOf(cfg *config.Config, verdicts map[netip.Addr]bgpplan.IPVerdict, sessions []bgpmodel.PeerState) bgpPart {
	var part bgpPart
	if cfg == nil || (len(cfg.Peers) == 0 && len(cfg.BGPAdvertisements) == 0) {
		return part
	}
	up := map[string]bool{}
	for _, st := range sessions {
		s := v1beta1.BGPSessionState{Peer: st.Name, Address: st.Address.String(), Established: st.State == bgpmodel.StateEstablished}
		if !s.Established {
			s.Message = st.LastError
			if s.Message == "" {
				s.Message = "not established" // not the FSM state: it cycles while connecting
			}
		}
		up[st.Name] = s.Established
		part.Sessions = append(part.Sessions, s)
	}
	sort.Slice(part.Sessions, func(i, j int) bool { return part.Sessions[i].Peer < part.Sessions[j].Peer })
	// By pool, not by reason: an IP of a layer 2 pool refused for another
	// reason first (no ready endpoint) must stay out too.
	l2Only := func(ip netip.Addr) bool {
		if bgpCovers(cfg, ip) {
			return false
		}
		pool := cfg.PoolOf(ip)
		for _, a := range cfg.L2Advertisements {
			if a.Pools[pool] {
				return true
			}
		}
		return false
	}
	ips := make([]netip.Addr, 0, len(verdicts))
	for ip := range verdicts {
		if !l2Only(ip) {
			ips = append(ips, ip)
		}
	}
	ips, part.Omitted = listed(ips)
	for _, ip := range ips {
		v := verdicts[ip]
		a := v1beta1.BGPAnnouncementState{IP: ip.String(), Reason: v.Reason, Message: v.Message}
		for _, p := range v.Peers {
			if up[p] {
				a.Peers = append(a.Peers, p)
			} else {
				a.PeersDown = append(a.PeersDown, p)
			}
		}
		a.Advertised = len(a.Peers) > 0
		if !a.Advertised && len(a.PeersDown) > 0 {
			// Why each session is down is said once, in Sessions, not
			// per IP: smaller, and an error text that changes rewrites
			// one entry, not every IP's.
			a.Reason = ReasonPeerNotEstablished
			a.Message = "no established session to " + strings.Join(a.PeersDown, ", ")
		}
		part.Announcements = append(part.Announcements, a)
	}
	return part
}
