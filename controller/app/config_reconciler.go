package app

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/internal/lbspec"
)

// +kubebuilder:rbac:groups=metallb.io,resources=ipaddresspools;l2advertisements;bgpadvertisements;bgppeers;communities;bfdprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=metallb.io,resources=ipaddresspools/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=metallb.io,resources=configurationstates,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=metallb.io,resources=configurationstates/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete

// ReasonInvalidConfiguration is the Event reason on a configuration object
// that is not used because of a problem.
const ReasonInvalidConfiguration = v1beta1.ReasonInvalidConfiguration

// ReasonConfigurationWarning is the Event reason on an object that is
// used as written but has a setting worth knowing about (one with no
// effect).
const ReasonConfigurationWarning = "ConfigurationWarning"

// ReasonAddressesRead is the Event reason saying how an IPAddressPool's
// addresses were read when that differs from how they were written.
const ReasonAddressesRead = "AddressesRead"

// configReconciler reloads the configuration when any configuration object
// (or a Namespace's labels) changes, reports problems, and asks every
// Service to be looked at again, since a new pool may serve pending ones.
type configReconciler struct {
	client.Client
	// api reads uncached, for the cluster-wide check of strays.
	api      client.Reader
	state    *state
	tell     *kube.Teller
	services chan<- event.GenericEvent
}

// SetupWithManager watches every configuration kind (spec and label
// changes only: the controller's own status writes must not reload) and
// Namespace labels, all funnelled into one key.
func (r *configReconciler) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: "config"}}}
	})
	specOrLabels := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))
	b := ctrl.NewControllerManagedBy(mgr).Named("config").
		Watches(&corev1.Namespace{}, one, builder.WithPredicates(predicate.LabelChangedPredicate{}))
	// Unstructured, as kube.ListConfig reads them: a typed informer
	// would stall on one object that does not decode.
	for _, o := range crkube.ConfigObjects() {
		b = b.Watches(o, one, specOrLabels)
	}
	return b.Complete(r)
}

func (r *configReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	if err := r.state.waitReady(ctx); err != nil {
		return reconcile.Result{}, err
	}
	if _, err := r.state.reloadConfig(ctx, r.Client); err != nil {
		return reconcile.Result{}, fmt.Errorf("reloading the configuration: %w", err)
	}
	cfg, problems := r.state.config()
	if r.api != nil && !r.state.opts.SkipStrayCheck {
		elsewhere, err := strays(ctx, r.api, r.state.opts.Namespace)
		if err != nil {
			return reconcile.Result{}, err
		}
		problems = append(slices.Clone(problems), elsewhere...)
	}
	r.reportProblems(ctx, cfg, problems)
	if err := r.writeConfigurationState(ctx, problems); err != nil {
		return reconcile.Result{}, fmt.Errorf("writing ConfigurationState %s/controller: %w", r.state.opts.Namespace, err)
	}
	var svcs corev1.ServiceList
	if err := r.List(ctx, &svcs); err != nil {
		return reconcile.Result{}, fmt.Errorf("listing Services to requeue: %w", err)
	}
	for i := range svcs.Items {
		if lbspec.Handles(&svcs.Items[i], r.state.opts.LBClass) {
			select {
			case r.services <- event.GenericEvent{Object: &svcs.Items[i]}:
			case <-ctx.Done():
				return reconcile.Result{}, ctx.Err()
			}
		}
	}
	return reconcile.Result{}, nil
}

// reportProblems emits one Warning Event per problem on the object that
// has to be fixed, once while the problem lasts: problems that are gone
// are forgotten, so one that is fixed and comes back is reported again.
func (r *configReconciler) reportProblems(ctx context.Context, cfg *config.Config, problems config.Problems) {
	current := map[kube.EventKey]bool{}
	ns := r.state.opts.Namespace
	// Notes (a CIDR with host bits read as its network) are no problems:
	// one Normal Event each, under the same once-per-change rule.
	for _, p := range cfg.Pools {
		for _, n := range p.Notes {
			key := kube.EventKey{Kind: config.KindPool, Namespace: ns, Name: p.Name, Topic: n}
			current[key] = true
			obj := kube.ConfigObject(config.KindPool)
			if r.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, obj) == nil {
				r.tell.Tell(obj, key, corev1.EventTypeNormal, ReasonAddressesRead, "Validate", n)
			}
		}
	}
	for _, p := range problems {
		objNS, name := ns, p.Name
		var obj client.Object
		if i := strings.IndexByte(p.Name, '/'); i >= 0 { // a stray in another namespace
			objNS, name = p.Name[:i], p.Name[i+1:]
			obj = strayObject(p, objNS, name)
		} else if u := kube.ConfigObject(p.Kind); u != nil {
			obj = u
			if err := r.Get(ctx, client.ObjectKey{Namespace: ns, Name: p.Name}, obj); err != nil {
				obj = nil
			}
		}
		key := kube.EventKey{Kind: p.Kind, Namespace: objNS, Name: name, Topic: p.Message}
		current[key] = true
		if obj == nil {
			continue
		}
		reason := ReasonInvalidConfiguration
		if p.Warning {
			reason = ReasonConfigurationWarning
		}
		if r.tell.Tell(obj, key, corev1.EventTypeWarning, reason, "Validate", p.Message) {
			log.FromContext(ctx).Info("configuration problem", "kind", p.Kind, "name", p.Name, "problem", p.Message)
		}
	}
	r.tell.Retain(func(k kube.EventKey) bool { return current[k] })
}

// writeConfigurationState records the verdict in the "controller"
// ConfigurationState object, creating it on first use.
func (r *configReconciler) writeConfigurationState(ctx context.Context, problems config.Problems) error {
	want := v1beta1.ConfigurationStateStatus{Result: v1beta1.ConfigurationStateValid}
	cond := metav1.Condition{Type: v1beta1.ConditionValid, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonConfigurationValid, Message: "every configuration object is in use"}
	if blocking := problems.Blocking(); len(blocking) > 0 {
		want.Result = v1beta1.ConfigurationStateInvalid
		want.ErrorSummary = blocking.Error()
		cond = metav1.Condition{Type: v1beta1.ConditionValid, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonInvalidConfiguration, Message: want.ErrorSummary}
	} else if len(problems) > 0 {
		// Only warnings: valid, and the condition says what to know.
		cond.Message += "; warnings: " + problems.Error()
	}
	var cs v1beta1.ConfigurationState
	key := client.ObjectKey{Namespace: r.state.opts.Namespace, Name: "controller"}
	err := r.Get(ctx, key, &cs)
	if apierrors.IsNotFound(err) {
		cs = v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{
			Namespace: key.Namespace, Name: key.Name,
			Labels: map[string]string{"metallb.io/component-type": "controller"},
		}}
		if err := r.Create(ctx, &cs); err != nil && !apierrors.IsAlreadyExists(err) {
			return err
		}
	} else if err != nil {
		return err
	}
	want.Conditions = slices.Clone(cs.Status.Conditions)
	if !v1beta1.SetCondition(&want.Conditions, cond, cs.Generation) &&
		cs.Status.Result == want.Result && cs.Status.ErrorSummary == want.ErrorSummary {
		return nil
	}
	cs.Status = want
	return r.Status().Update(ctx, &cs)
}
