package app

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/barelb/barelb/internal/allocator"
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
	state    *state
	recorder events.EventRecorder
}

func (r *serviceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	if err := r.state.ensureReady(ctx, r.Client); err != nil {
		return ctrl.Result{}, err
	}
	key := req.Namespace + "/" + req.Name
	var svc corev1.Service
	if err := r.Get(ctx, req.NamespacedName, &svc); err != nil {
		if apierrors.IsNotFound(err) {
			if r.state.alloc.Release(key) {
				r.state.markPoolsDirty()
				log.FromContext(ctx).Info("released addresses of deleted Service", "service", key)
			}
			r.state.forget(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !lbspec.Handles(&svc, r.state.opts.LBClass) {
		return ctrl.Result{}, r.notOurs(ctx, &svc, key)
	}

	req2, err := lbspec.Request(&svc)
	if err != nil {
		r.warn(&svc, ReasonInvalidRequest, err.Error())
		return ctrl.Result{}, nil
	}
	cur, held := r.state.alloc.Assignment(key)
	if held && cur.Pool == "" && keepOutOfPool(req2, cur.IPs) {
		// The pool holding these addresses shrank or went away. Moving
		// them would cut live traffic, so keep them and say so.
		r.warn(&svc, ReasonOutOfPool, "addresses "+ipList(cur.IPs)+" are no longer in any IPAddressPool; they are kept until the Service is deleted or asks for other addresses")
		return ctrl.Result{}, r.writeStatus(ctx, &svc, cur)
	}
	allowed, err := r.poolFilter(ctx, &svc)
	if err != nil {
		return ctrl.Result{}, err
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
		return ctrl.Result{}, r.writeStatus(ctx, &svc, cur)
	}
	if !held || !slices.Equal(cur.IPs, res.IPs) {
		r.state.markPoolsDirty()
	}
	if err := r.writeStatus(ctx, &svc, res); err != nil {
		return ctrl.Result{}, err
	}
	if r.state.changed(key, ReasonAllocated+":"+ipList(res.IPs)) {
		r.recorder.Eventf(&svc, nil, corev1.EventTypeNormal, ReasonAllocated, "Allocate", "Assigned IP %s from pool %q", ipList(res.IPs), res.Pool)
	}
	return ctrl.Result{}, nil
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
	r.state.forget(key)
	r.recorder.Eventf(svc, nil, corev1.EventTypeNormal, ReasonReleased, "Release", "Released IP %s: the Service is no longer a LoadBalancer handled by barelb", ipList(held.IPs))
	if svc.Spec.Type == corev1.ServiceTypeLoadBalancer {
		return nil // another implementation's class: its status is not ours to clear
	}
	return r.writeStatus(ctx, svc, allocator.Result{})
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
// say exactly res, writing only what differs. The two live in different
// subresources, so they are two requests; they go out concurrently because
// API server round trips, not computation, bound how fast Services get
// their addresses.
func (r *serviceReconciler) writeStatus(ctx context.Context, svc *corev1.Service, res allocator.Result) error {
	want := make([]corev1.LoadBalancerIngress, 0, len(res.IPs))
	for _, ip := range res.IPs {
		want = append(want, corev1.LoadBalancerIngress{IP: ip.String()})
	}
	var (
		writes     []func() error
		rvMu       sync.Mutex
		writtenRVs []string
	)
	if !sameIngress(svc.Status.LoadBalancer.Ingress, want) {
		st := svc.DeepCopy()
		st.Status.LoadBalancer.Ingress = want
		writes = append(writes, func() error {
			err := r.Status().Patch(ctx, st, client.MergeFrom(svc))
			rvMu.Lock()
			writtenRVs = append(writtenRVs, st.ResourceVersion)
			rvMu.Unlock()
			return err
		})
	}
	annName := lbspec.Prefix + lbspec.KeyAllocatedFromPool
	if cur, ok := svc.Annotations[annName]; !((ok && cur == res.Pool) || (!ok && res.Pool == "")) {
		an := svc.DeepCopy()
		if res.Pool == "" {
			delete(an.Annotations, annName)
		} else {
			if an.Annotations == nil {
				an.Annotations = map[string]string{}
			}
			an.Annotations[annName] = res.Pool
		}
		writes = append(writes, func() error {
			err := r.Patch(ctx, an, client.MergeFrom(svc))
			rvMu.Lock()
			writtenRVs = append(writtenRVs, an.ResourceVersion)
			rvMu.Unlock()
			return err
		})
	}
	if len(writes) == 0 {
		r.state.wrote(lbspec.Key(svc), nil)
		return nil
	}
	if r.state.inFlight(lbspec.Key(svc), svc.ResourceVersion, res) {
		// The cache still shows the object from before (or between) our
		// own writes of exactly this result: writing again would only
		// repeat them.
		return nil
	}
	rvs := []string{svc.ResourceVersion}
	var err error
	if len(writes) == 1 {
		err = writes[0]()
	} else {
		errc := make(chan error, 1)
		go func() { errc <- writes[1]() }()
		err = writes[0]()
		if err2 := <-errc; err == nil {
			err = err2
		}
	}
	if err != nil {
		r.state.wrote(lbspec.Key(svc), nil)
		return err
	}
	// The patched copies now carry the resourceVersions our writes made.
	rvs = append(rvs, writtenRVs...)
	r.state.wrote(lbspec.Key(svc), &written{rvs: rvs, res: res})
	return nil
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
	if r.state.changed(lbspec.Key(svc), reason+":"+msg) {
		r.recorder.Eventf(svc, nil, corev1.EventTypeWarning, reason, "Allocate", "%s", msg)
	}
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
