package app

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/lbspec"
)

// Event reasons on Services. Each refusal has its own so users and alerts
// can tell them apart.
const (
	ReasonAllocated       = "IPAllocated"
	ReasonReleased        = "IPReleased"
	ReasonOutOfPool       = "AddressOutOfPool"
	ReasonInvalidRequest  = "InvalidLoadBalancerRequest"
	ReasonExhausted       = "AddressPoolExhausted"
	ReasonNoPoolAllowed   = "NoAddressPoolAllowed"
	ReasonNotInPool       = "RequestedIPNotInPool"
	ReasonInUse           = "IPAlreadyInUse"
	ReasonSharingConflict = "IPSharingConflict"
	ReasonFamily          = "IPFamilyNotAvailable"
	ReasonUnknownPool     = "UnknownAddressPool"
	ReasonSpanPools       = "RequestedIPsSpanPools"
	ReasonAllocFailed     = "AllocationFailed"
)

// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// serviceReconciler gives one Service its addresses.
type serviceReconciler struct {
	client.Client
	state *state
	tell  *kube.Teller
}

// topicAllocation is the EventKey topic of a Service's allocation Events.
const topicAllocation = "allocation"

func allocationKey(svc *corev1.Service) kube.EventKey {
	return kube.EventKey{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name, Topic: topicAllocation}
}

// SetupWithManager registers the reconciler for Services and for the
// requeues the configuration reconciler sends on services.
func (r *serviceReconciler) SetupWithManager(mgr ctrl.Manager, services <-chan event.GenericEvent, workers int) error {
	return ctrl.NewControllerManagedBy(mgr).
		Named("service").
		For(&corev1.Service{}).
		WatchesRawSource(source.Channel(services, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
		Complete(r)
}

func (r *serviceReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	if err := r.state.waitReady(ctx); err != nil {
		return reconcile.Result{}, err
	}
	res, err := r.reconcile(ctx, req)
	if err != nil {
		err = fmt.Errorf("reconciling Service %s: %w", req.NamespacedName, err)
	}
	return res, err
}

func (r *serviceReconciler) reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	key := req.Namespace + "/" + req.Name
	var svc corev1.Service
	if err := r.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			if r.state.alloc.Release(key) {
				r.state.markPoolsDirty()
				log.FromContext(ctx).Info("released addresses of deleted Service", "service", key)
			}
			r.state.wrote(key, nil)
			r.tell.ForgetObject("Service", req.Namespace, req.Name)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("reading: %w", err)
	}
	if !lbspec.Handles(&svc, r.state.opts.LBClass) {
		return reconcile.Result{}, r.notOurs(ctx, &svc, key)
	}

	req2, err := lbspec.Request(&svc)
	if err != nil {
		r.warn(&svc, ReasonInvalidRequest, err.Error())
		cur, _ := r.state.alloc.Assignment(key)
		return reconcile.Result{}, r.writeStatus(ctx, &svc, cur, refused(ReasonInvalidRequest, err.Error()))
	}
	cur, held := r.state.alloc.Assignment(key)
	if held && cur.Pool == "" && keepOutOfPool(req2, cur.IPs) {
		// The pool holding these addresses shrank or went away. Moving
		// them would cut live traffic, so keep them and say so.
		msg := "addresses " + ipList(cur.IPs) + " are no longer in any IPAddressPool; they are kept until the Service is deleted or asks for other addresses"
		r.warn(&svc, ReasonOutOfPool, msg)
		return reconcile.Result{}, r.writeStatus(ctx, &svc, cur, &metav1.Condition{Type: lbspec.ConditionAddressAssigned, Status: metav1.ConditionTrue, Reason: ReasonOutOfPool, Message: msg})
	}
	allowed, err := r.poolFilter(ctx, &svc)
	if err != nil {
		return reconcile.Result{}, err
	}
	req2.Allowed = allowed
	res, err := r.state.alloc.Assign(req2)
	if err != nil {
		reason := reasonFor(err)
		r.state.m.failures.WithLabelValues(reason).Inc()
		r.warn(&svc, reason, err.Error())
		// Assign leaves a failed Service's previous addresses in place;
		// status shows exactly what it still holds.
		cur, _ := r.state.alloc.Assignment(key)
		return reconcile.Result{}, r.writeStatus(ctx, &svc, cur, refused(reason, err.Error()))
	}
	if !held || !slices.Equal(cur.IPs, res.IPs) {
		r.state.markPoolsDirty()
	}
	msg := fmt.Sprintf("Assigned IP %s from pool %q", ipList(res.IPs), res.Pool)
	if err := r.writeStatus(ctx, &svc, res, &metav1.Condition{Type: lbspec.ConditionAddressAssigned, Status: metav1.ConditionTrue, Reason: ReasonAllocated, Message: msg}); err != nil {
		return reconcile.Result{}, err
	}
	r.tell.Tell(&svc, allocationKey(&svc), corev1.EventTypeNormal, ReasonAllocated, "Allocate", msg)
	return reconcile.Result{}, nil
}

// refused is the AddressAssigned condition of a Service barelb could not
// give (new) addresses, in the words of the Warning Event.
func refused(reason, msg string) *metav1.Condition {
	return &metav1.Condition{Type: lbspec.ConditionAddressAssigned, Status: metav1.ConditionFalse, Reason: reason, Message: msg}
}

// keepOutOfPool: an out-of-pool assignment is kept unless the Service now
// asks for specific, different addresses.
func keepOutOfPool(req allocator.Request, held []netip.Addr) bool {
	if len(req.IPs) == 0 {
		return true
	}
	return len(req.IPs) == len(held) && !slices.ContainsFunc(req.IPs, func(ip netip.Addr) bool { return !slices.Contains(held, ip) })
}

// notOurs releases a Service that left type LoadBalancer (or barelb's
// class) and clears the addresses barelb wrote into its status.
func (r *serviceReconciler) notOurs(ctx context.Context, svc *corev1.Service, key string) error {
	held, ok := r.state.alloc.Assignment(key)
	if !ok {
		return nil
	}
	r.state.alloc.Release(key)
	r.state.markPoolsDirty()
	r.state.wrote(key, nil)
	r.tell.Tell(svc, allocationKey(svc), corev1.EventTypeNormal, ReasonReleased, "Release",
		fmt.Sprintf("Released IP %s: the Service is no longer a LoadBalancer handled by barelb", ipList(held.IPs)))
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		// Another implementation's class: its ingress is not ours to
		// clear, but our condition is.
		if meta.FindStatusCondition(svc.Status.Conditions, lbspec.ConditionAddressAssigned) == nil {
			return nil
		}
		st := svc.DeepCopy()
		meta.RemoveStatusCondition(&st.Status.Conditions, lbspec.ConditionAddressAssigned)
		return r.Status().Patch(ctx, st, client.MergeFrom(svc))
	}
	return r.writeStatus(ctx, svc, allocator.Result{}, nil)
}

// poolFilter evaluates the pools' serviceAllocation selectors for svc.
func (r *serviceReconciler) poolFilter(ctx context.Context, svc *corev1.Service) (func(string) bool, error) {
	cfg, _ := r.state.config()
	var nsLabels map[string]string
	for _, p := range cfg.Pools {
		if len(p.NamespaceSelectors) > 0 {
			var ns corev1.Namespace
			if err := r.Get(ctx, client.ObjectKey{Name: svc.Namespace}, &ns); err != nil && !apierrors.IsNotFound(err) {
				return nil, err
			}
			nsLabels = ns.Labels
			break
		}
	}
	return func(name string) bool {
		p := cfg.Pools[name]
		return p != nil && p.AllowsService(svc.Namespace, nsLabels, svc.Labels)
	}, nil
}

// writeStatus makes status.loadBalancer.ingress and the pool annotation
// say exactly res, and barelb's AddressAssigned condition say cond (nil
// removes it), writing only what differs. The condition travels in the
// same status patch as the ingress, so a change of both is one request,
// and an unchanged verdict costs none. A new assignment changes the
// annotation and the status at once: the API server takes a Service's
// metadata in a status patch too (it resets only the spec there), so that
// is one request as well, and atomic: a watcher never sees the address
// without its pool. A server that dropped the annotation from a status
// patch gets it in a patch of its own, as when only the annotation
// differs.
func (r *serviceReconciler) writeStatus(ctx context.Context, svc *corev1.Service, res allocator.Result, cond *metav1.Condition) error {
	want := make([]corev1.LoadBalancerIngress, 0, len(res.IPs))
	for _, ip := range res.IPs {
		want = append(want, corev1.LoadBalancerIngress{IP: ip.String()})
	}
	annName := lbspec.Prefix + lbspec.KeyAllocatedFromPool
	cur, ok := svc.Annotations[annName]
	conds := wantConditions(svc.Status.Conditions, cond)
	statusOK := sameIngress(svc.Status.LoadBalancer.Ingress, want) && conds == nil
	annOK := (ok && cur == res.Pool) || (!ok && res.Pool == "")
	key := lbspec.Key(svc)
	if statusOK && annOK {
		r.state.wrote(key, nil)
		return nil
	}
	if r.state.inFlight(key, svc.ResourceVersion, res, cond) {
		// The cache still shows the object from before (or between) our
		// own writes of exactly this result: writing again would only
		// repeat them.
		return nil
	}
	withPool := func(o *corev1.Service) {
		if res.Pool == "" {
			delete(o.Annotations, annName)
			return
		}
		if o.Annotations == nil {
			o.Annotations = map[string]string{}
		}
		o.Annotations[annName] = res.Pool
	}
	rvs := []string{svc.ResourceVersion}
	base := svc
	if !statusOK {
		st := svc.DeepCopy()
		st.Status.LoadBalancer.Ingress = want
		if conds != nil {
			st.Status.Conditions = conds
		}
		if !annOK {
			withPool(st)
		}
		if err := r.Status().Patch(ctx, st, client.MergeFrom(svc)); err != nil {
			r.state.wrote(key, nil)
			return fmt.Errorf("writing status.loadBalancer: %w", err)
		}
		rvs = append(rvs, st.ResourceVersion)
		cur, ok := st.Annotations[annName]
		annOK = (ok && cur == res.Pool) || (!ok && res.Pool == "")
		base = st
	}
	if !annOK {
		an := base.DeepCopy()
		withPool(an)
		if err := r.Patch(ctx, an, client.MergeFrom(base)); err != nil {
			r.state.wrote(key, nil)
			return fmt.Errorf("writing the %s annotation: %w", annName, err)
		}
		rvs = append(rvs, an.ResourceVersion)
	}
	// The patched copies now carry the resourceVersions our writes made.
	r.state.wrote(key, &written{rvs: rvs, res: res, cond: cond})
	return nil
}

// wantConditions returns the Service's conditions with barelb's set to
// cond (or removed when nil), or nil when they already say that. Only
// status, reason and message count: the transition time changes with them.
func wantConditions(cur []metav1.Condition, cond *metav1.Condition) []metav1.Condition {
	have := meta.FindStatusCondition(cur, lbspec.ConditionAddressAssigned)
	switch {
	case cond == nil && have == nil:
		return nil
	case cond != nil && have != nil && sameCondition(*have, *cond):
		return nil
	}
	out := slices.Clone(cur)
	if cond == nil {
		meta.RemoveStatusCondition(&out, lbspec.ConditionAddressAssigned)
		if out == nil {
			out = []metav1.Condition{}
		}
		return out
	}
	meta.SetStatusCondition(&out, *cond)
	return out
}

func sameCondition(a, b metav1.Condition) bool {
	return a.Status == b.Status && a.Reason == b.Reason && a.Message == b.Message
}

func sameIngress(a, b []corev1.LoadBalancerIngress) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].IP != b[i].IP || a[i].Hostname != "" {
			return false
		}
	}
	return true
}

func (r *serviceReconciler) warn(svc *corev1.Service, reason, msg string) {
	r.tell.Tell(svc, allocationKey(svc), corev1.EventTypeWarning, reason, "Allocate", msg)
}

func reasonFor(err error) string {
	for _, m := range []struct {
		err    error
		reason string
	}{
		{allocator.ErrExhausted, ReasonExhausted},
		{allocator.ErrNoPoolAllowed, ReasonNoPoolAllowed},
		{allocator.ErrNotInPool, ReasonNotInPool},
		{allocator.ErrInUse, ReasonInUse},
		{allocator.ErrSharingConflict, ReasonSharingConflict},
		{allocator.ErrFamilyNotAvailable, ReasonFamily},
		{allocator.ErrUnknownPool, ReasonUnknownPool},
		{allocator.ErrIPsSpanPools, ReasonSpanPools},
		{allocator.ErrInvalidRequest, ReasonInvalidRequest},
	} {
		if errors.Is(err, m.err) {
			return m.reason
		}
	}
	return ReasonAllocFailed
}

func ipList(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return "[" + strings.Join(s, ", ") + "]"
}
