package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/l2plan"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Event reasons on Services.
const (
	ReasonNodeAssigned         = "nodeAssigned"
	ReasonInterfaceUnavailable = "AnnounceInterfaceUnavailable"
	ReasonNotAnnounced         = "NotAnnounced"
)

// Labels on ServiceL2Status objects, as MetalLB sets them.
const (
	LabelNode             = "metallb.io/node"
	LabelServiceName      = "metallb.io/service-name"
	LabelServiceNamespace = "metallb.io/service-namespace"
)

// +kubebuilder:rbac:groups="",resources=services;endpoints;nodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=get;list;watch
// Secrets are read only in the configuration namespace (the cache is
// scoped to it), so the grant is a Role there, not cluster-wide.
// +kubebuilder:rbac:groups="",namespace=metallb-system,resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=metallb.io,resources=ipaddresspools;l2advertisements,verbs=get;list;watch
// +kubebuilder:rbac:groups=metallb.io,resources=servicel2statuses,verbs=get;list;watch;create;update;patch;delete;deletecollection
// +kubebuilder:rbac:groups=metallb.io,resources=servicel2statuses/status,verbs=get;update;patch

// reconciler recomputes the whole layer 2 plan on any change. The plan is
// cheap (pure, in memory) and level-based, so one key serves every event.
type reconciler struct {
	client.Client
	api client.Reader // uncached reads, where the cache may lag
	// rejoined is set when a member joins: after planning with it, the
	// IPs this node keeps get a fresh gratuitous burst (layer2.Reassert).
	rejoined  atomic.Bool
	opts      Options
	l2        *layer2.Announcer
	members   *members.Members
	recorder  events.EventRecorder
	announced *prometheus.GaugeVec
	bgp       *BGPSpeaker // BGP mode (bgp.go); nil disables it

	// leaving freezes announcements once shutdown has begun: the speaker
	// keeps answering for the handover period instead of going quiet.
	leaving atomic.Bool

	mu   sync.Mutex
	told map[string]string // service key -> last Event message
	mine map[netip.Addr]bool

	// statuses writes ServiceL2Status objects after the announcements
	// are in place, never holding up the next reconcile.
	statuses *statusSyncer
}

func (r *reconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	if r.leaving.Load() {
		return reconcile.Result{}, nil
	}
	var alive map[string]bool
	if r.members != nil {
		alive = r.members.Alive()
	}
	cfg, _, nodes, svcs, byKey, err := gather(ctx, r.Client, r.opts, alive)
	if err != nil {
		return reconcile.Result{}, err
	}
	plan := l2plan.Plan(cfg, nodes, svcs)
	want := map[netip.Addr]layer2.Announcement{}
	for ip, d := range plan {
		if d.Node == r.opts.NodeName {
			want[ip] = layer2.Announcement{Interfaces: d.Interfaces}
		}
	}
	r.l2.SetAnnounced(want)
	if r.rejoined.Swap(false) {
		r.l2.Reassert()
	}
	carried := r.l2.Announced()
	r.report(ctx, plan, carried, byKey)
	lg, nodeCount := log.FromContext(ctx), len(nodes)
	r.statuses.submit("l2", func(sctx context.Context) error {
		return r.syncStatuses(log.IntoContext(sctx, lg), plan, carried, byKey, alive, nodeCount)
	})
	// BGP mode: same inputs, its own peers, routes and statuses.
	if r.bgp != nil {
		err = r.bgp.Reconcile(ctx, nodes, svcs, byKey)
	}
	return reconcile.Result{}, err
}

// report emits, once per change, the Event a Service's owner needs: which
// node announces it, or why this node cannot although it won.
func (r *reconciler) report(ctx context.Context, plan map[netip.Addr]l2plan.Decision, carried map[netip.Addr][]string, byKey map[string]*corev1.Service) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mine := map[netip.Addr]bool{}
	for ip, d := range plan {
		if d.Node != r.opts.NodeName {
			continue
		}
		mine[ip] = true
		r.announced.WithLabelValues(ip.String(), r.opts.NodeName, "layer2").Set(1)
		for _, key := range d.Services {
			svc := byKey[key]
			if svc == nil {
				continue
			}
			var kind, reason, msg string
			if ifs := carried[ip]; len(ifs) == 0 {
				kind, reason = corev1.EventTypeWarning, ReasonInterfaceUnavailable
				want := "any usable interface"
				if len(d.Interfaces) > 0 {
					want = "interfaces " + strings.Join(d.Interfaces, ", ")
				}
				msg = fmt.Sprintf("node %q was elected to announce %s but has none of %s up", r.opts.NodeName, ip, want)
			} else {
				kind, reason = corev1.EventTypeNormal, ReasonNodeAssigned
				msg = fmt.Sprintf("announcing %s from node %q on %s with protocol \"layer2\"", ip, r.opts.NodeName, strings.Join(ifs, ", "))
			}
			if r.told[key+ip.String()] != msg {
				r.told[key+ip.String()] = msg
				r.recorder.Eventf(svc, nil, kind, reason, "Announce", "%s", msg)
			}
		}
	}
	for ip := range mine {
		if !r.mine[ip] {
			log.FromContext(ctx).Info("announcing", "ip", ip, "services", plan[ip].Services, "interfaces", carried[ip])
		}
	}
	for ip := range r.mine {
		if !mine[ip] {
			log.FromContext(ctx).Info("stopped announcing", "ip", ip)
			// Covers IPs that left the plan altogether (Service deleted),
			// which the loop above never sees.
			r.announced.DeleteLabelValues(ip.String(), r.opts.NodeName, "layer2")
			for k := range r.told {
				if strings.HasSuffix(k, ip.String()) {
					delete(r.told, k)
				}
			}
		}
	}
	r.mine = mine
}

// syncStatuses keeps one ServiceL2Status per Service this node announces,
// named per node so a handover never has two nodes writing one object.
func (r *reconciler) syncStatuses(ctx context.Context, plan map[netip.Addr]l2plan.Decision, carried map[netip.Addr][]string, byKey map[string]*corev1.Service, alive map[string]bool, nodeCount int) error {
	want := map[string]v1beta1.MetalLBServiceL2Status{}
	for ip, d := range plan {
		if d.Node != r.opts.NodeName || len(carried[ip]) == 0 {
			continue
		}
		for _, key := range d.Services {
			svc := byKey[key]
			if svc == nil {
				continue
			}
			st := want[key]
			st.Node, st.ServiceName, st.ServiceNamespace = r.opts.NodeName, svc.Name, svc.Namespace
			for _, i := range carried[ip] {
				if !slices.ContainsFunc(st.Interfaces, func(x v1beta1.InterfaceInfo) bool { return x.Name == i }) {
					st.Interfaces = append(st.Interfaces, v1beta1.InterfaceInfo{Name: i})
				}
			}
			sort.Slice(st.Interfaces, func(a, b int) bool { return st.Interfaces[a].Name < st.Interfaces[b].Name })
			want[key] = st
		}
	}
	var have v1beta1.ServiceL2StatusList
	if err := r.List(ctx, &have, client.InNamespace(r.opts.Namespace), client.MatchingLabels{LabelNode: r.opts.NodeName}); err != nil {
		return err
	}
	r.removeDeadNodesStatuses(ctx, want, alive, nodeCount)
	seen := map[string]bool{}
	var errs statusErrs
	for i := range have.Items {
		obj := &have.Items[i]
		key := obj.Labels[LabelServiceNamespace] + "/" + obj.Labels[LabelServiceName]
		st, ok := want[key]
		if !ok || seen[key] {
			errs.keep(r.Delete(ctx, obj))
			continue
		}
		seen[key] = true
		if !sameL2Status(obj.Status, st) {
			obj.Status = st
			errs.keep(r.Status().Update(ctx, obj))
		}
	}
	for key, st := range want {
		if seen[key] {
			continue
		}
		obj := &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{
			Namespace: r.opts.Namespace,
			Name:      statusName("l2-", key, r.opts.NodeName),
			Labels:    map[string]string{LabelNode: r.opts.NodeName, LabelServiceName: st.ServiceName, LabelServiceNamespace: st.ServiceNamespace},
		}}
		errs.keep(createWithStatus(ctx, r.Client, r.api, obj, func() { obj.Status = st }))
	}
	if errs.first != nil {
		log.FromContext(ctx).Error(errs.first, "updating ServiceL2Status")
	}
	return errs.first
}

// removeDeadNodesStatuses deletes, for the Services this node announces,
// the ServiceL2Status objects of nodes memberlist reports dead: a crashed
// or cut-off speaker cannot remove its own. Live nodes clean up their own,
// so a dual-stack Service announced from two nodes keeps both.
func (r *reconciler) removeDeadNodesStatuses(ctx context.Context, want map[string]v1beta1.MetalLBServiceL2Status, alive map[string]bool, nodeCount int) {
	if alive == nil || len(want) == 0 {
		return
	}
	// A node cut off from the LAN sees every other node dead and would
	// delete the real owner's status. Only a speaker that sees a majority
	// of nodes alive may clean up after the others.
	if nodeCount >= 3 && 2*len(alive) <= nodeCount {
		return
	}
	var all v1beta1.ServiceL2StatusList
	if err := r.List(ctx, &all, client.InNamespace(r.opts.Namespace)); err != nil {
		return
	}
	for i := range all.Items {
		obj := &all.Items[i]
		node := obj.Labels[LabelNode]
		key := obj.Labels[LabelServiceNamespace] + "/" + obj.Labels[LabelServiceName]
		if _, mine := want[key]; mine && node != r.opts.NodeName && !alive[node] {
			if err := r.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				log.FromContext(ctx).Error(err, "deleting a dead node's ServiceL2Status", "node", node, "service", key)
			} else if err == nil {
				log.FromContext(ctx).Info("removed a dead node's ServiceL2Status", "deadNode", node, "service", key)
			}
		}
	}
}

// statusName names a per-node status object of a Service: prefix, a short
// hash of the Service key (names may not contain '/'), and the node, so a
// handover never has two nodes writing one object.
func statusName(prefix, key, node string) string {
	h := sha256.Sum256([]byte(key))
	n := prefix + hex.EncodeToString(h[:6]) + "-" + node
	if len(n) > 253 {
		n = n[:253]
	}
	return n
}

func sameL2Status(a, b v1beta1.MetalLBServiceL2Status) bool {
	return a.Node == b.Node && a.ServiceName == b.ServiceName && a.ServiceNamespace == b.ServiceNamespace &&
		slices.Equal(a.Interfaces, b.Interfaces)
}
