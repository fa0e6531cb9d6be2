package app

import (
	"context"
	"github.com/barelb/barelb/internal/kclient"
	"k8s.io/apimachinery/pkg/types"
	"net/netip"
	"slices"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/internal/l2plan"
)

// Labels on a speaker's ConfigurationState, as MetalLB sets them.
const (
	LabelComponentType = "metallb.io/component-type"
	LabelNodeName      = "metallb.io/node-name"
)

// maxAnnouncements bounds the per-IP lists of a ConfigurationState, both
// lists together (merged cuts the BGP list to what the layer 2 list
// leaves): at 100 to 150 bytes an entry the object stays below 600 KB,
// well under etcd's 1.5 MB.
const maxAnnouncements = 4096

// +kubebuilder:rbac:groups=metallb.io,resources=configurationstates,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=metallb.io,resources=configurationstates/status,verbs=get;update;patch

// speakerState keeps this speaker's ConfigurationState, named after the
// node and labelled metallb.io/component-type=speaker and
// metallb.io/node-name as MetalLB's is. Besides MetalLB's verdict on the
// configuration (result, errorSummary) it carries barelb's own fields:
// per LoadBalancer IP whether this node announces it and why not, and the
// memberlist view.
//
// Cost: one object per speaker, not one per IP, and it is written from
// the statusSyncer (off the reconcile path) only when its content differs
// from what this speaker last wrote. The status syncer keeps only the
// latest submission, so 1,000 Services created at once cost one write per
// sync pass that found something new, not one per IP: the per-IP
// alternative (a field on each ServiceL2Status, or one object per IP and
// node) would cost nodes × IPs writes for the same news. A steady cluster
// costs nothing; an election that moves k IPs costs each speaker one
// write. The first write after a restart reads the object once (GET) and
// writes only if it is stale.
//
// The BGP reconciler adds its part (per-IP BGP verdicts and sessions) to
// the same object through the same path: each reconciler hands over its
// part, and the merged status is written only when it differs. With
// expectBGP set (the speaker runs both) nothing is written until both
// parts are known, so a restart that finds the object up to date costs one
// GET and no write, instead of a write without the BGP part and another
// with it. An IP is listed by one protocol only when only one covers its
// pool (see merged), so a Service change in a BGP pool touches the BGP
// list alone.
type speakerState struct {
	kclient.Client
	api  kclient.Reader
	opts Options
	// expectBGP: wait for the BGP part before the first write.
	expectBGP bool

	mu   sync.Mutex
	last *v1beta1.ConfigurationStateStatus // what we last wrote or read
	l2   *v1beta1.ConfigurationStateStatus // the layer 2 reconciler's part
	bgp  *bgpPart                          // the BGP reconciler's part
	// bgpPool says whether a BGPAdvertisement covers an IP's pool, in the
	// configuration of the BGP part.
	bgpPool func(netip.Addr) bool
	node    *corev1.Node // the owner for a new object
}

// bgpPart is what the BGP reconciler contributes to the status.
type bgpPart struct {
	Announcements []v1beta1.BGPAnnouncementState
	Omitted       int32
	Sessions      []v1beta1.BGPSessionState
}

// sync makes the object say want (the layer 2 reconciler's part: result,
// announcements, members) merged with the BGP part. A new object is owned
// by node (when known), so deleting the Node deletes its speaker's report
// with it.
func (s *speakerState) sync(ctx context.Context, want v1beta1.ConfigurationStateStatus, node *corev1.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l2, s.node = &want, node
	return s.flushLocked(ctx)
}

// setBGP records the BGP part computed from cfg; it reports whether it
// changed (so the caller submits a flush only then).
func (s *speakerState) setBGP(p bgpPart, cfg *config.Config) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bgpPool = func(ip netip.Addr) bool { return bgpCovers(cfg, ip) }
	if s.bgp != nil && equality.Semantic.DeepEqual(*s.bgp, p) {
		return false
	}
	s.bgp = &p
	return true
}

// bgpCovers: a BGPAdvertisement covers ip's pool.
func bgpCovers(cfg *config.Config, ip netip.Addr) bool {
	if cfg == nil {
		return false
	}
	pool := cfg.PoolOf(ip)
	for _, a := range cfg.BGPAdvertisements {
		if a.Pools[pool] {
			return true
		}
	}
	return false
}

// flush writes the merged status if it changed.
func (s *speakerState) flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flushLocked(ctx)
}

// merged is the status to write, or nil while a part is missing. An IP
// that only BGP handles (its layer 2 verdict is NoAdvertisement and a
// BGPAdvertisement covers its pool) is dropped from the layer 2 list, as
// bgpStateOf leaves IPs only layer 2 handles out of the BGP list: a
// pool's IPs are listed twice only when both kinds of advertisement, or
// neither, cover it. The rule reads the pools, not the BGP list, so a new
// Service in a BGP pool changes the layer 2 part's output not at all and
// costs the one write of the BGP part.
func (s *speakerState) merged() *v1beta1.ConfigurationStateStatus {
	if s.l2 == nil || (s.expectBGP && s.bgp == nil) {
		return nil
	}
	st := *s.l2
	if s.bgp == nil {
		return &st
	}
	st.BGPAnnouncements, st.BGPAnnouncementsOmitted, st.BGPSessions = s.bgp.Announcements, s.bgp.Omitted, s.bgp.Sessions
	st.Announcements = nil
	for _, a := range s.l2.Announcements {
		ip, err := netip.ParseAddr(a.IP)
		if a.Reason != string(eligibility.ReasonNoAdvertisement) || err != nil || !s.bgpPool(ip) {
			st.Announcements = append(st.Announcements, a)
		}
	}
	if room := maxAnnouncements - len(st.Announcements); len(st.BGPAnnouncements) > room {
		st.BGPAnnouncementsOmitted += int32(len(st.BGPAnnouncements) - room)
		st.BGPAnnouncements = st.BGPAnnouncements[:room]
	}
	return &st
}

func (s *speakerState) flushLocked(ctx context.Context) error {
	m := s.merged()
	if m == nil {
		return nil
	}
	want, node := *m, s.node
	if s.last != nil && equality.Semantic.DeepEqual(*s.last, want) {
		return nil
	}
	var obj v1beta1.ConfigurationState
	err := s.api.Get(ctx, types.NamespacedName{Namespace: s.opts.Namespace, Name: s.opts.NodeName}, &obj)
	switch {
	case apierrors.IsNotFound(err):
		obj = v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{
			Namespace: s.opts.Namespace, Name: s.opts.NodeName,
			Labels: map[string]string{LabelComponentType: "speaker", LabelNodeName: s.opts.NodeName},
		}}
		if node != nil && node.UID != "" {
			obj.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
		}
		if err := s.Create(ctx, &obj); err != nil {
			return err
		}
	case err != nil:
		return err
	case equality.Semantic.DeepEqual(obj.Status, want):
		s.last = &want
		return nil
	}
	obj.Status = want
	if err := s.UpdateStatus(ctx, &obj); err != nil {
		s.last = nil
		return err
	}
	s.last = &want
	return nil
}

// speakerStatus is the status this speaker reports: problems is the
// verdict on the configuration, plan the layer 2 decisions, carried the
// interfaces each IP is really announced on, view memberlist's states
// (nil when disabled) and nodes the cluster's Nodes.
func speakerStatus(node string, problems config.Problems, plan map[netip.Addr]l2plan.Decision, carried map[netip.Addr][]string, view map[string]string, nodes []eligibility.Node) v1beta1.ConfigurationStateStatus {
	st := v1beta1.ConfigurationStateStatus{Result: v1beta1.ConfigurationStateValid}
	if len(problems) > 0 {
		st.Result, st.ErrorSummary = v1beta1.ConfigurationStateInvalid, problems.Error()
	}
	ips := make([]netip.Addr, 0, len(plan))
	for ip := range plan {
		ips = append(ips, ip)
	}
	ips, st.AnnouncementsOmitted = listed(ips)
	settling := slices.ContainsFunc(nodes, func(n eligibility.Node) bool { return n.Name == node && n.Settling })
	for _, ip := range ips {
		st.Announcements = append(st.Announcements, announcementOf(node, settling, ip, plan[ip], carried[ip]))
	}
	if view != nil {
		m := &v1beta1.MembersState{}
		for name, state := range view {
			if state == "suspect" {
				m.Suspect = append(m.Suspect, name)
			} else {
				m.Alive = append(m.Alive, name)
			}
		}
		for _, n := range nodes {
			if _, listed := view[n.Name]; !listed {
				m.Dead = append(m.Dead, n.Name)
			}
		}
		sort.Strings(m.Alive)
		sort.Strings(m.Suspect)
		sort.Strings(m.Dead)
		st.Members = m
	}
	return st
}

// listed sorts ips and keeps the first maxAnnouncements, returning how
// many it left out.
func listed(ips []netip.Addr) ([]netip.Addr, int32) {
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	if len(ips) <= maxAnnouncements {
		return ips, 0
	}
	return ips[:maxAnnouncements], int32(len(ips) - maxAnnouncements)
}

// announcementOf is node's verdict on ip: announced, refused (this node's
// own refusal first, then the IP's), or not elected (naming the winner,
// and saying so when this node lost because it is settling).
func announcementOf(node string, settling bool, ip netip.Addr, d l2plan.Decision, carried []string) v1beta1.AnnouncementState {
	a := v1beta1.AnnouncementState{IP: ip.String()}
	switch {
	case d.Node == node && len(carried) > 0:
		a.Announced = true
	case d.Node == node:
		a.Reason, a.Message = ReasonInterfaceUnavailable, "elected, but none of the interfaces to announce on is up"
	case d.RefusalOf(node).Refused():
		r := d.RefusalOf(node)
		a.Reason, a.Message = string(r.Reason), r.Message
	case d.Node == "":
		a.Reason, a.Message = string(d.Refusal.Reason), d.Refusal.Message
	default:
		a.Reason, a.Winner = string(eligibility.ReasonNotElected), d.Node
		a.Message = "node " + d.Node + " won the election for this IP"
		if settling {
			a.Message = "node " + d.Node + " announces this IP while this node settles after coming back (damped fail-back, --failback-delay)"
		}
	}
	return a
}
