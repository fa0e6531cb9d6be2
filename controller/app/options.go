package app

import (
	"flag"
	"time"

	"github.com/barelb/barelb/internal/kube"
)

// Options configure the controller.
type Options struct {
	// Namespace holds the configuration objects (default: the pod's own).
	Namespace string
	// LBClass selects Services by spec.loadBalancerClass; empty means
	// Services without a class.
	LBClass string
	// MetricsAddr and HealthAddr are listen addresses; "0" disables.
	MetricsAddr string
	HealthAddr  string
	// LeaderElect runs the controller only while it holds a Lease.
	LeaderElect bool
	// LeaseDuration etc. tune leader election.
	LeaseDuration time.Duration
	// Workers is the number of Services reconciled in parallel.
	Workers int
	// APIQPS and APIBurst bound requests to the API server.
	APIQPS   float64
	APIBurst int
	// StatusFlushInterval batches IPAddressPool status writes.
	StatusFlushInterval time.Duration
	// SkipStrayCheck turns off the report of metallb.io objects outside
	// Namespace; only for test suites that run several controllers, each
	// with its own namespace, against one API server.
	SkipStrayCheck bool
}

// BindFlags registers the controller's flags on fs with their defaults.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.Namespace, "namespace", kube.DefaultNamespace(), "namespace of the barelb configuration objects (IPAddressPool, L2Advertisement, ...)")
	fs.StringVar(&o.LBClass, "lb-class", "", "handle only Services with this spec.loadBalancerClass (empty: Services without a class)")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":7472", "Prometheus metrics listen address (0 disables)")
	fs.StringVar(&o.HealthAddr, "health-addr", ":7473", "/healthz and /readyz listen address (0 disables)")
	fs.BoolVar(&o.LeaderElect, "leader-elect", true, "run only while holding the barelb-controller Lease")
	fs.DurationVar(&o.LeaseDuration, "lease-duration", 15*time.Second, "leader election lease duration")
	fs.IntVar(&o.Workers, "workers", 8, "Services reconciled in parallel")
	fs.Float64Var(&o.APIQPS, "kube-api-qps", 500, "API server requests per second")
	fs.IntVar(&o.APIBurst, "kube-api-burst", 1000, "API server request burst")
	fs.DurationVar(&o.StatusFlushInterval, "status-interval", 500*time.Millisecond, "how often changed IPAddressPool counts are written")
}
