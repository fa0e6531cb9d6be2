package app

// Status, conditions and Events of the BGP component (see bgp.go).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpplan"
	"github.com/barelb/barelb/internal/config"
)

// ConditionSupported is the BGPPeer condition saying whether barelb can
// honour every field of the peer. It is derived from the spec alone, so
// every speaker computes the same value and writes it only when the
// object differs: concurrent speakers converge instead of flapping.
const (
	ConditionSupported      = "Supported"
	ReasonAllFieldsHonoured = "AllFieldsHonoured"
	ReasonUnsupportedFields = "UnsupportedFields"
)

// syncPeerConditions sets ConditionSupported on every valid BGPPeer.
func (b *BGPSpeaker) syncPeerConditions(ctx context.Context, cfg *config.Config, objs []v1beta2.BGPPeer) error {
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
		want := metav1.Condition{Type: ConditionSupported, Status: metav1.ConditionTrue, Reason: ReasonAllFieldsHonoured,
			Message: "every field of this peer is supported", ObservedGeneration: obj.Generation}
		if u := unsupported[obj.Name]; len(u) > 0 {
			want.Status, want.Reason = metav1.ConditionFalse, ReasonUnsupportedFields
			want.Message = "the peer is not used: " + strings.Join(u, "; ")
		}
		if have := meta.FindStatusCondition(obj.Status.Conditions, ConditionSupported); have != nil &&
			have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message &&
			have.ObservedGeneration == want.ObservedGeneration {
			continue
		}
		meta.SetStatusCondition(&obj.Status.Conditions, want)
		// A conflict means another speaker wrote first; the watch brings
		// its version back and the next pass finds it equal.
		if err := b.c.Status().Update(ctx, obj); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && firstErr == nil {
			firstErr = fmt.Errorf("updating BGPPeer %s status: %w", obj.Name, err)
		}
	}
	return firstErr
}

// report emits the Events of one reconcile, each once per change.
func (b *BGPSpeaker) report(ctx context.Context, plan bgpplan.Plan, byKey map[string]*corev1.Service,
	peers []v1beta2.BGPPeer, advs []v1beta1.BGPAdvertisement, peerErr, adErr error) {
	bad := map[string]string{}
	for _, r := range plan.Refused {
		bad[r.Peer] = fmt.Sprintf("node %q does not run this peer: %s", b.node, r.Message())
	}
	var perrs bgp.PeerErrors
	if errors.As(peerErr, &perrs) {
		for name, err := range perrs {
			bad[name] = fmt.Sprintf("node %q cannot run this peer: %v", b.node, err)
		}
	} else if peerErr != nil {
		log.FromContext(ctx).Error(peerErr, "configuring BGP peers")
	}
	for i := range peers {
		key := "peer/" + peers[i].Name
		if msg, ok := bad[peers[i].Name]; ok {
			b.tell(&peers[i], key, corev1.EventTypeWarning, ReasonPeerRefused, msg)
		} else {
			b.forget(key) // a later refusal is news again
		}
	}

	adMsgs := map[string][]string{}
	var aerrs bgp.AdvertisementErrors
	if errors.As(adErr, &aerrs) {
		for name, err := range aerrs {
			adv, _, _ := strings.Cut(name, "/")
			adMsgs[adv] = append(adMsgs[adv], err.Error())
		}
	}
	if adErr != nil && len(aerrs) == 0 {
		log.FromContext(ctx).Error(adErr, "announcing BGP routes")
	}
	for i := range advs {
		key := "adv/" + advs[i].Name
		if m := adMsgs[advs[i].Name]; len(m) > 0 {
			sort.Strings(m)
			b.tell(&advs[i], key, corev1.EventTypeWarning, ReasonAdvertisementBad,
				fmt.Sprintf("on node %q: %s", b.node, strings.Join(m, "; ")))
		} else {
			b.forget(key)
		}
	}

	served := map[string]bool{}
	for key, names := range plan.Services {
		served[key] = true
		if svc := byKey[key]; svc != nil {
			b.tell(svc, "svc/"+key, corev1.EventTypeNormal, ReasonBGPAdvertised,
				fmt.Sprintf("announcing from node %q with protocol \"bgp\" to %s", b.node, joinNames(names)))
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
			b.tell(svc, "svc/"+key, corev1.EventTypeNormal, ReasonBGPWithdrawn,
				fmt.Sprintf("node %q no longer announces it with protocol \"bgp\": %s", b.node, why))
		} else {
			b.forget("svc/" + key)
		}
	}
	b.served = served
}

func (b *BGPSpeaker) forget(key string) {
	b.toldMu.Lock()
	delete(b.told, key)
	b.toldMu.Unlock()
}

// syncBGPStatuses keeps one ServiceBGPStatus per Service this node
// advertises, named per node like the layer 2 ones, so speakers never
// write each other's objects.
func (b *BGPSpeaker) syncBGPStatuses(ctx context.Context, services map[string][]string, byKey map[string]*corev1.Service) error {
	want := map[string]v1beta1.MetalLBServiceBGPStatus{}
	for key, peers := range services {
		svc := byKey[key]
		if svc == nil {
			continue
		}
		want[key] = v1beta1.MetalLBServiceBGPStatus{Node: b.node, ServiceName: svc.Name, ServiceNamespace: svc.Namespace, Peers: slices.Clone(peers)}
	}
	var have v1beta1.ServiceBGPStatusList
	if err := b.c.List(ctx, &have, client.InNamespace(b.namespace), client.MatchingLabels{LabelNode: b.node}); err != nil {
		return err
	}
	seen := map[string]bool{}
	var errs statusErrs
	for i := range have.Items {
		obj := &have.Items[i]
		key := obj.Labels[LabelServiceNamespace] + "/" + obj.Labels[LabelServiceName]
		st, ok := want[key]
		if !ok || seen[key] {
			errs.keep(b.c.Delete(ctx, obj))
			continue
		}
		seen[key] = true
		if !sameBGPStatus(obj.Status, st) {
			obj.Status = st
			errs.keep(b.c.Status().Update(ctx, obj))
		}
	}
	for key, st := range want {
		if seen[key] {
			continue
		}
		obj := &v1beta1.ServiceBGPStatus{ObjectMeta: metav1.ObjectMeta{
			Namespace: b.namespace,
			Name:      statusName("bgp-", key, b.node),
			Labels:    map[string]string{LabelNode: b.node, LabelServiceName: st.ServiceName, LabelServiceNamespace: st.ServiceNamespace},
		}}
		errs.keep(createWithStatus(ctx, b.c, b.api, obj, func() { obj.Status = st }))
	}
	if errs.first != nil {
		log.FromContext(ctx).Error(errs.first, "updating ServiceBGPStatus")
	}
	return errs.first
}

func sameBGPStatus(a, b v1beta1.MetalLBServiceBGPStatus) bool {
	return a.Node == b.Node && a.ServiceName == b.ServiceName && a.ServiceNamespace == b.ServiceNamespace &&
		slices.Equal(a.Peers, b.Peers)
}
