package app

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
)

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
	// Before any informer exists: an API server whose watch cache for a
	// kind is not ready refuses a streaming list (WatchList) with 429 and
	// Retry-After: 1s, and no address is assigned before every informer
	// has synced (issue #14). See kube.DisableWatchList.
	kube.DisableWatchList()
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = float32(opts.APIQPS), opts.APIBurst
	cfg.UserAgent = "barelb-controller"
	inNS := cache.ByObject{Namespaces: map[string]cache.Config{opts.Namespace: {}}}
	mgrOpts := ctrl.Options{
		Scheme:                        crkube.Scheme(),
		Metrics:                       metricsserver.Options{BindAddress: opts.MetricsAddr},
		HealthProbeBindAddress:        opts.HealthAddr,
		LeaderElection:                opts.LeaderElect,
		LeaderElectionID:              "barelb-controller",
		LeaderElectionNamespace:       opts.Namespace,
		LeaderElectionReleaseOnCancel: true,
		// Tests and benchmarks restart the controller inside one process;
		// the names are still unique within each manager.
		Controller: crconfig.Controller{SkipNameValidation: ptr.To(true)},
		// Unstructured reads from the cache too: the configuration kinds
		// are read unstructured (kube.ListConfig, the pool status
		// writer), and controller-runtime's client sends those to the
		// API server unless told otherwise. Their informers exist (the
		// configuration reconciler watches them unstructured), so the
		// reads cost no request; a cached read blocks until its informer
		// has synced, so the restore still sees the whole configuration
		// before the first allocation. Read directly, a fresh API server
		// whose watch cache for a kind was still cold answered the
		// restore's LIST with 429 and Retry-After: 1s, and the first
		// address waited that second (issue #14). Mind that an
		// unstructured read of any other kind now starts an informer for
		// it; read such kinds through mgr.GetAPIReader (as strays does).
		Client: client.Options{Cache: &client.CacheOptions{Unstructured: true}},
		Cache: cache.Options{
			// Managed fields are a large share of a Service's size and
			// nothing here reads them.
			DefaultTransform: kube.TrimForCache,
			// Scoped per kind: the configuration kinds are read
			// unstructured (kube.ListConfig), and the scope holds for them.
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
	if err := mgr.Add(&restorer{c: mgr.GetClient(), state: st, minBackoff: 200 * time.Millisecond, maxBackoff: 10 * time.Second}); err != nil {
		return nil, err
	}
	svcR := &serviceReconciler{Client: mgr.GetClient(), state: st, tell: kube.NewTeller(recorder)}
	if err := svcR.SetupWithManager(mgr, services, opts.Workers); err != nil {
		return nil, err
	}
	cfgR := &configReconciler{Client: mgr.GetClient(), api: mgr.GetAPIReader(), state: st, tell: kube.NewTeller(recorder), services: services}
	if err := cfgR.SetupWithManager(mgr); err != nil {
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
