package kube

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register adds c to reg
// and returns it, or returns the collector already registered under the
// same name: a component restarted inside one process (tests, benchmarks)
// keeps reporting through the same series instead of failing.
func Register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(T); ok {
				return existing
			}
		}
	}
	return c
}
