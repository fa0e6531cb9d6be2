package app

import (
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/barelb/barelb/internal/kube"
	"github.com/prometheus/client_golang/prometheus"
)

// Metric names follow MetalLB's where the meaning is the same, so existing
// dashboards and alerts keep working.
type metrics struct {
	inUse        *prometheus.GaugeVec
	total        *prometheus.GaugeVec
	outOfPool    prometheus.Gauge
	failures     *prometheus.CounterVec
	configLoaded prometheus.Gauge
	configStale  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = crmetrics.Registry
	}
	m := &metrics{
		inUse: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metallb_allocator_addresses_in_use_total",
			Help: "Number of IP addresses in use, per pool.",
		}, []string{"pool"}),
		total: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "metallb_allocator_addresses_total",
			Help: "Number of usable IP addresses, per pool (saturates for large IPv6 pools).",
		}, []string{"pool"}),
		outOfPool: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "barelb_allocator_addresses_out_of_pool",
			Help: "Addresses held by Services that no configured pool contains any more.",
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "barelb_controller_allocation_failures_total",
			Help: "Services that could not get an address, by reason (counted once per change).",
		}, []string{"reason"}),
		configLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metallb_k8s_client_config_loaded_bool",
			Help: "1 if the configuration was loaded at least once.",
		}),
		configStale: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "metallb_k8s_client_config_stale_bool",
			Help: "1 if the last configuration had problems (some objects are not in use).",
		}),
	}
	m.inUse = kube.Register(reg, m.inUse)
	m.total = kube.Register(reg, m.total)
	m.outOfPool = kube.Register(reg, m.outOfPool)
	m.failures = kube.Register(reg, m.failures)
	m.configLoaded = kube.Register(reg, m.configLoaded)
	m.configStale = kube.Register(reg, m.configStale)
	return m
}
