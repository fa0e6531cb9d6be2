package app

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
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
	if reg == nil {
		reg = crmetrics.Registry
	}
	m.inUse = register(reg, m.inUse)
	m.total = register(reg, m.total)
	m.outOfPool = register(reg, m.outOfPool)
	m.failures = register(reg, m.failures)
	m.configLoaded = register(reg, m.configLoaded)
	m.configStale = register(reg, m.configStale)
	return m
}

// register adds c to reg, or returns the collector already registered
// under the same name: a controller restarted inside one process (tests,
// benchmarks) keeps reporting through the same series.
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}
