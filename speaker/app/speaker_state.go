package app

import (
	"context"
	"net/netip"
	"sort"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

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

// maxAnnouncements bounds the per-IP list of a ConfigurationState: at
// about 100 bytes an entry the object stays far below etcd's 1.5 MB.
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
type speakerState struct {
	client.Client
	api  client.Reader
	opts Options

	mu   sync.Mutex
	last *v1beta1.ConfigurationStateStatus // what we last wrote or read
}

// sync makes the object say want. A new object is owned by node (when
// known), so deleting the Node deletes its speaker's report with it.
func (s *speakerState) sync(ctx context.Context, want v1beta1.ConfigurationStateStatus, node *corev1.Node) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.last != nil && equality.Semantic.DeepEqual(*s.last, want) {
		return nil
	}
	var obj v1beta1.ConfigurationState
	err := s.api.Get(ctx, client.ObjectKey{Namespace: s.opts.Namespace, Name: s.opts.NodeName}, &obj)
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
	if err := s.Status().Update(ctx, &obj); err != nil {
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
	sort.Slice(ips, func(i, j int) bool { return ips[i].Less(ips[j]) })
	if len(ips) > maxAnnouncements {
		st.AnnouncementsOmitted = int32(len(ips) - maxAnnouncements)
		ips = ips[:maxAnnouncements]
	}
	for _, ip := range ips {
		st.Announcements = append(st.Announcements, announcementOf(node, ip, plan[ip], carried[ip]))
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

// announcementOf is node's verdict on ip: announced, refused (this node's
// own refusal first, then the IP's), or not elected (naming the winner).
func announcementOf(node string, ip netip.Addr, d l2plan.Decision, carried []string) v1beta1.AnnouncementState {
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
	}
	return a
}
