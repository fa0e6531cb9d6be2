package app

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/kube"
)

// Scheme knows the core kinds and barelb's API (kept for tests and tools).
func Scheme() *runtime.Scheme { return kube.Scheme() }

// Run runs the controller until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, opts Options) error {
	mgr, err := NewManager(cfg, opts)
	if err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// NewManager builds the controller's manager with every reconciler added.
func NewManager(cfg *rest.Config, opts Options) (ctrl.Manager, error) {
	if opts.Workers <= 0 {
		opts.Workers = 1
	}
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(opts.APIQPS), opts.APIBurst
	cfg.UserAgent = "barelb-controller"
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{opts.Namespace: {}}}
	mgrOpts := ctrl.Options{
		Scheme:                        Scheme(),
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              "barelb-controller",
		LeaderElectionNamespace:       opts.Namespace,
		LeaderElectionReleaseOnCancel: true,
		// Tests and benchmarks restart the controller inside one process;
		// the names are still unique within each manager.
		Controller: crconfig.Controller{SkipNameValidation: ptr.To(true)},
		Cache: cache.Options{
			// Managed fields are a large share of a Service's size and
			// nothing here reads them.
			DefaultTransform: cache.TransformStripManagedFields(),
			ByObject: map[client.Object]cache.ByObject{
				&v1beta1.IPAddressPool{}: inNS, &v1beta1.L2Advertisement{}: inNS, &v1beta1.BGPAdvertisement{}: inNS,
				&v1beta2.BGPPeer{}: inNS, &v1beta1.Community{}: inNS, &v1beta1.BFDProfile{}: inNS,
				&v1beta1.ConfigurationState{}: inNS,
			},
		},
	}
	if opts.LeaseDuration > 0 {
		d := opts.LeaseDuration
		renew, retry := d*2/3, d/7
		mgrOpts.LeaseDuration, mgrOpts.RenewDeadline, mgrOpts.RetryPeriod = &d, &renew, &retry
	}
	mgr, err := ctrl.NewManager(cfg, mgrOpts)
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	st := newState(opts, newMetrics(nil))
	recorder := mgr.GetEventRecorder("barelb-controller")
	services := make(chan event.GenericEvent, 1024)

	svcR := &serviceReconciler{Client: mgr.GetClient(), state: st, recorder: recorder}
	if err := ctrl.NewControllerManagedBy(mgr).
		Named("service").
		For(&corev1.Service{}).
		WatchesRawSource(source.Channel(services, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: opts.Workers}).
		Complete(svcR); err != nil {
		return nil, err
	}

	cfgR := &configReconciler{Client: mgr.GetClient(), state: st, recorder: recorder, services: services}
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: "config"}}}
	})
	// Status writes (pool counts) must not trigger a reload: only spec
	// (generation) and label changes matter.
	specOrLabels := builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))
	b := ctrl.NewControllerManagedBy(mgr).Named("config").
		Watches(&corev1.Namespace{}, one, builder.WithPredicates(predicate.LabelChangedPredicate{}))
	for _, o := range []client.Object{&v1beta1.IPAddressPool{}, &v1beta1.L2Advertisement{}, &v1beta1.BGPAdvertisement{}, &v1beta2.BGPPeer{}, &v1beta1.Community{}, &v1beta1.BFDProfile{}} {
		b = b.Watches(o, one, specOrLabels)
	}
	if err := b.Complete(cfgR); err != nil {
		return nil, err
	}
	if err := mgr.Add(&poolStatusWriter{Client: mgr.GetClient(), state: st}); err != nil {
		return nil, err
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return nil, err
	}
	return mgr, nil
}
