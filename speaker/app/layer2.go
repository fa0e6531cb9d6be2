package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"github.com/go-logr/logr"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/l2plan"
	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Event reasons on Services.
const (
	ReasonNodeAssigned         = "nodeAssigned"
	ReasonInterfaceUnavailable = "AnnounceInterfaceUnavailable"
	ReasonNotAnnounced         = "NotAnnounced"
	// ReasonAddressConflict: a host that is no speaker uses an IP this
	// node was elected for, so it does not announce it there.
	ReasonAddressConflict = "AddressConflict"
	// ReasonSplitBrain: another speaker answers for an IP this node
	// announces (a partition).
	ReasonSplitBrain = "SplitBrain"
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

// announcer is what the layer 2 reconciler needs of *layer2.Announcer, so
// its logic is tested with a fake one and no sockets.
type announcer interface {
	SetAnnounced(map[netip.Addr]layer2.Announcement)
	// Announced lists, per IP, the interfaces it is really announced on.
	Announced() map[netip.Addr][]string
	// Reassert sends a fresh gratuitous burst for every announced IP.
	Reassert()
	// Conflicts lists the IPs another host claims (conflict detection).
	Conflicts() []layer2.Conflict
}

// layer2Reconciler makes this node answer ARP/NDP for exactly the IPs the
// layer 2 plan gives it. The plan is level-based, so one key serves every
// event: each pass reads the whole snapshot, and the planFeed applies to
// the plan only what changed since the last.
type layer2Reconciler struct {
	kclient.Client
	api  kclient.Reader // uncached reads, where the cache may lag
	opts Options
	l2   announcer
	// alive is memberlist's view; nil means Node readiness decides.
	alive func() map[string]bool
	// metas, if set, is the gossiped node metadata, read once per pass:
	// which nodes are settling (damped fail-back) and, with
	// opts.LinkAware, which can carry an IP (links.go, with ignore).
	// Nil: no node settles and every node can carry every IP.
	metas  func() map[string]members.NodeMeta
	ignore func(string) bool
	// cutOff, if set, holds announcements right after this node's link
	// came back while it sees no other speaker (links.go).
	cutOff *cutOff
	// view is memberlist's view with suspects (nil: disabled), for the
	// ConfigurationState.
	view func() map[string]string
	// state keeps this speaker's ConfigurationState; nil writes none.
	state     *speakerState
	tell      *kube.Teller
	announced *prometheus.GaugeVec
	// submit hands a status sync to the statusSyncer (tests run it inline).
	submit func(kind string, sync func(context.Context) error)

	// joined, if set, is closed once the other speakers' MACs are known
	// (after the first memberlist join): nothing is announced before.
	joined <-chan struct{}
	// rejoined is set when a member joins: after planning with it, the
	// IPs this node keeps get a fresh gratuitous burst.
	rejoined atomic.Bool
	// leaving freezes announcements once shutdown has begun: the speaker
	// keeps answering for the handover period instead of going quiet.
	leaving atomic.Bool

	// feed keeps the plan between passes (planfeed.go), and keep the
	// Services' ready nodes and conversions, so that unchanged ones cost
	// lookups and compare in O(1).
	feed planFeed
	keep snapCache

	mu   sync.Mutex
	mine map[netip.Addr]bool
}

// Reconcile is one pass: it returns when to run again without a change
// (0: not).
func (r *layer2Reconciler) Reconcile(ctx context.Context) (time.Duration, error) {
	if r.leaving.Load() {
		return 0, nil
	}
	if r.joined != nil {
		select {
		case <-r.joined:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	var alive map[string]bool
	if r.alive != nil {
		alive = r.alive()
	}
	snap, err := readSnapshot(ctx, r.Client, r.opts, alive, &r.keep)
	if err != nil {
		return 0, fmt.Errorf("layer 2: %w", err)
	}
	var metas map[string]members.NodeMeta
	if r.metas != nil {
		metas = r.metas()
	}
	in, links := r.planInput(snap, metas)
	if hold := r.cutOff.hold(alive, len(snap.nodes)); hold > 0 {
		// Statuses, Events and the ConfigurationState wait as well:
		// they would tell of a plan made without the other speakers.
		r.l2.SetAnnounced(nil)
		logr.FromContextOrDiscard(ctx).Info("an interface came up while no other speaker is seen: announcing nothing until they are, or for at most the rest of the grace", "for", hold.Round(time.Millisecond))
		return hold, nil
	}
	// The plan is live (the next pass updates it): own is the part the
	// status sync, which runs after this pass, reads.
	pl, _ := r.feed.plan(in, links)
	plan := pl.Decisions
	want := map[netip.Addr]layer2.Announcement{}
	own := map[netip.Addr]l2plan.Decision{}
	for ip, d := range plan {
		if d.Node == r.opts.NodeName {
			want[ip] = layer2.Announcement{Interfaces: d.Interfaces}
			own[ip] = d
		}
	}
	r.l2.SetAnnounced(want)
	if r.rejoined.Swap(false) {
		r.l2.Reassert()
	}
	carried := r.l2.Announced()
	r.report(ctx, plan, carried, r.l2.Conflicts(), snap)
	lg := logr.FromContextOrDiscard(ctx)
	r.submit("l2", func(sctx context.Context) error {
		return r.syncStatuses(logr.NewContext(sctx, lg), own, carried, snap.byKey, alive, len(snap.nodes))
	})
	if r.state != nil {
		var view map[string]string
		if r.view != nil {
			view = r.view()
		}
		st, self := speakerStatus(r.opts.NodeName, snap.problems, plan, carried, view, snap.nodes), snap.self
		r.submit("state", func(sctx context.Context) error {
			if err := r.state.sync(sctx, st, self); err != nil {
				lg.Error(err, "updating this speaker's ConfigurationState")
				return err
			}
			return nil
		})
	}
	return 0, nil
}

// planInput is the layer 2 plan's input from one snapshot and one read
// of the gossiped metadata (nil: none), which says which nodes settle
// and, with link-aware election, which can carry an IP; links are the
// metadata the Carriers reads (nil when it is unset). It sets the
// snapshot's nodes' Settling.
func (r *layer2Reconciler) planInput(snap *snapshot, metas map[string]members.NodeMeta) (in l2plan.Input, links map[string]members.NodeMeta) {
	if metas != nil {
		for i := range snap.nodes {
			snap.nodes[i].Settling = metas[snap.nodes[i].Name].Settling
		}
	}
	in = l2plan.Input{Config: snap.cfg, Nodes: snap.nodes, Services: snap.svcs}
	if metas != nil && r.opts.LinkAware {
		in.Carriers, links = carriersFrom(metas, r.ignore), metas
	}
	return in, links
}

// reporter is the node that sends the NotAnnounced Events: the alive node
// whose name sorts first. Every speaker sees the same nodes alive, so the
// Event is sent once, not once per speaker.
func reporter(nodes []eligibility.Node) string {
	first := ""
	for _, n := range nodes {
		if n.Alive && (first == "" || n.Name < first) {
			first = n.Name
		}
	}
	return first
}

// Event topics under a Service: the IP for this node's announcement, and
// notAnnouncedTopic+IP for the Event saying nobody announces it, and
// conflictTopic+IP+"/"+interface+"/"+kind for an address conflict.
const (
	notAnnouncedTopic = "not-announced/"
	conflictTopic     = "conflict/"
)

func serviceKey(svc *corev1.Service, topic string) kube.EventKey {
	return kube.EventKey{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name, Topic: topic}
}

// report emits, once per change, the Events a Service's owner needs: which
// node announces it, why this node cannot although it won, or (from the
// reporter only) why no node announces it.
func (r *layer2Reconciler) report(ctx context.Context, plan map[netip.Addr]l2plan.Decision, carried map[netip.Addr][]string, conflicts []layer2.Conflict, snap *snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	mine := map[netip.Addr]bool{}
	isReporter := reporter(snap.nodes) == r.opts.NodeName
	standing := map[kube.EventKey]bool{}
	foreign := map[netip.Addr]bool{}
	for _, c := range conflicts {
		d, ok := plan[c.IP]
		if !ok {
			continue
		}
		foreign[c.IP] = foreign[c.IP] || c.Kind == layer2.ForeignHost
		reason, msg := conflictEvent(c, r.opts.NodeName)
		for _, key := range d.Services {
			if svc := snap.byKey[key]; svc != nil {
				k := serviceKey(svc, conflictTopic+c.IP.String()+"/"+c.Interface+"/"+string(c.Kind))
				standing[k] = true
				r.tell.Tell(svc, k, corev1.EventTypeWarning, reason, "Announce", msg)
			}
		}
	}
	for ip, d := range plan {
		if d.Node == "" && d.Refusal.Refused() && isReporter && !bgpOnly(snap.cfg, ip, d.Refusal) {
			for _, key := range d.Services {
				if svc := snap.byKey[key]; svc != nil {
					k := serviceKey(svc, notAnnouncedTopic+ip.String())
					standing[k] = true
					r.tell.Tell(svc, k, corev1.EventTypeWarning, ReasonNotAnnounced, "Announce",
						fmt.Sprintf("no node announces %s: %s", ip, d.Refusal.Message))
				}
			}
		}
		if d.Node != r.opts.NodeName {
			continue
		}
		mine[ip] = true
		r.announced.WithLabelValues(ip.String(), r.opts.NodeName, "layer2").Set(1)
		for _, key := range d.Services {
			svc := snap.byKey[key]
			if svc == nil {
				continue
			}
			kind, reason, msg := corev1.EventTypeNormal, ReasonNodeAssigned,
				fmt.Sprintf("announcing %s from node %q on %s with protocol \"layer2\"", ip, r.opts.NodeName, strings.Join(carried[ip], ", "))
			if len(carried[ip]) == 0 && foreign[ip] {
				// The AddressConflict Event says why; announcing again
				// once the host is gone is news.
				r.tell.Forget(serviceKey(svc, ip.String()))
				continue
			}
			if len(carried[ip]) == 0 {
				want := "any usable interface"
				if len(d.Interfaces) > 0 {
					want = "interfaces " + strings.Join(d.Interfaces, ", ")
				}
				kind, reason = corev1.EventTypeWarning, ReasonInterfaceUnavailable
				msg = fmt.Sprintf("node %q was elected to announce %s but has none of %s up", r.opts.NodeName, ip, want)
			}
			r.tell.Tell(svc, serviceKey(svc, ip.String()), kind, reason, "Announce", msg)
		}
	}
	// A Service announced again (or by another reporter) is news when it
	// loses its announcer the next time; so is a conflict that ended.
	r.tell.Retain(func(k kube.EventKey) bool {
		return !strings.HasPrefix(k.Topic, notAnnouncedTopic) && !strings.HasPrefix(k.Topic, conflictTopic) || standing[k]
	})
	for ip := range mine {
		if !r.mine[ip] {
			logr.FromContextOrDiscard(ctx).Info("announcing", "ip", ip, "services", plan[ip].Services, "interfaces", carried[ip])
		}
	}
	for ip := range r.mine {
		if !mine[ip] {
			logr.FromContextOrDiscard(ctx).Info("stopped announcing", "ip", ip)
			// Covers IPs that left the plan altogether (Service deleted),
			// which the loop above never sees.
			r.announced.DeleteLabelValues(ip.String(), r.opts.NodeName, "layer2")
			r.tell.ForgetTopic(ip.String())
		}
	}
	r.mine = mine
}

// conflictEvent is the reason and message of the Warning for c.
func conflictEvent(c layer2.Conflict, node string) (reason, msg string) {
	if c.Kind == layer2.SplitBrain {
		return ReasonSplitBrain, fmt.Sprintf("node %q announces %s on %s and so does another speaker (MAC %s): the speakers cannot see each other (a partition); the election settles it once they do", node, c.IP, c.Interface, c.MAC)
	}
	return ReasonAddressConflict, fmt.Sprintf("not announcing %s on %s from node %q: host %s already uses it (RFC 5227/4862 probe); will announce once it stops answering", c.IP, c.Interface, node, c.MAC)
}

// syncStatuses keeps one ServiceL2Status per Service this node announces,
// named per node so a handover never has two nodes writing one object.
func (r *layer2Reconciler) syncStatuses(ctx context.Context, plan map[netip.Addr]l2plan.Decision, carried map[netip.Addr][]string, byKey map[string]*corev1.Service, alive map[string]bool, nodeCount int) error {
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
	r.removeDeadNodesStatuses(ctx, want, alive, nodeCount)
	owned := kube.Owned[*v1beta1.ServiceL2Status, v1beta1.MetalLBServiceL2Status]{
		Client: r.Client, API: r.api,
		List: func(ctx context.Context) ([]*v1beta1.ServiceL2Status, error) {
			var l v1beta1.ServiceL2StatusList
			err := r.List(ctx, &l, kclient.InNamespace(r.opts.Namespace), kclient.MatchingLabels(map[string]string{LabelNode: r.opts.NodeName}))
			return ptrs(l.Items), err
		},
		Key: func(o *v1beta1.ServiceL2Status) string { return statusKey(o) },
		New: func(key string, st v1beta1.MetalLBServiceL2Status) *v1beta1.ServiceL2Status {
			return &v1beta1.ServiceL2Status{ObjectMeta: ownedMeta(r.opts, "l2-", key, st.ServiceName, st.ServiceNamespace)}
		},
		Status: func(o *v1beta1.ServiceL2Status) *v1beta1.MetalLBServiceL2Status { return &o.Status },
		Equal:  sameL2Status,
	}
	if err := owned.Sync(ctx, want); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "updating ServiceL2Status")
		return err
	}
	return nil
}

// removeDeadNodesStatuses deletes, for the Services this node announces,
// the ServiceL2Status objects of nodes memberlist reports dead: a crashed
// or cut-off speaker cannot remove its own. Live nodes clean up their own,
// so a dual-stack Service announced from two nodes keeps both.
func (r *layer2Reconciler) removeDeadNodesStatuses(ctx context.Context, want map[string]v1beta1.MetalLBServiceL2Status, alive map[string]bool, nodeCount int) {
	if alive == nil || len(want) == 0 || !majorityAlive(len(alive), nodeCount) {
		return
	}
	var all v1beta1.ServiceL2StatusList
	// Read-only (Delete only reads the object): no copy of every node's
	// statuses per pass.
	if err := r.List(ctx, &all, kclient.InNamespace(r.opts.Namespace), kclient.NoCopy); err != nil {
		return
	}
	for i := range all.Items {
		obj := &all.Items[i]
		node := obj.Labels[LabelNode]
		key := statusKey(obj)
		if _, mine := want[key]; mine && node != r.opts.NodeName && !alive[node] {
			if err := r.Delete(ctx, obj); err != nil && !apierrors.IsNotFound(err) {
				logr.FromContextOrDiscard(ctx).Error(err, "deleting a dead node's ServiceL2Status", "node", node, "service", key)
			} else if err == nil {
				logr.FromContextOrDiscard(ctx).Info("removed a dead node's ServiceL2Status", "deadNode", node, "service", key)
			}
		}
	}
}

// majorityAlive: a node cut off from the LAN sees every other node dead
// and would delete the real owner's status. Only a speaker that sees a
// majority of nodes alive may clean up after the others (with fewer than
// three nodes there is no majority to speak of).
func majorityAlive(alive, nodes int) bool {
	return nodes < 3 || 2*alive > nodes
}

// statusKey is the Service key a per-node status object reports on.
func statusKey(o kclient.Object) string {
	return o.GetLabels()[LabelServiceNamespace] + "/" + o.GetLabels()[LabelServiceName]
}

// ownedMeta names and labels a per-node status object of a Service.
func ownedMeta(opts Options, prefix, key, svcName, svcNamespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{
		Namespace: opts.Namespace,
		Name:      statusName(prefix, key, opts.NodeName),
		Labels:    map[string]string{LabelNode: opts.NodeName, LabelServiceName: svcName, LabelServiceNamespace: svcNamespace},
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

func ptrs[T any](items []T) []*T {
	out := make([]*T, len(items))
	for i := range items {
		out[i] = &items[i]
	}
	return out
}

func sameL2Status(a, b v1beta1.MetalLBServiceL2Status) bool {
	return a.Node == b.Node && a.ServiceName == b.ServiceName && a.ServiceNamespace == b.ServiceNamespace &&
		slices.Equal(a.Interfaces, b.Interfaces)
}

// bgpOnly reports whether ip is refused in layer 2 only because its pool
// is announced over BGP instead: no L2Advertisement is then no problem,
// and the BGP side reports its own reasons.
func bgpOnly(cfg *config.Config, ip netip.Addr, r eligibility.Refusal) bool {
	return r.Reason == eligibility.ReasonNoAdvertisement && bgpCovers(cfg, ip)
}
