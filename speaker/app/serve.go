package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/barelb/barelb/internal/kclient"
)

// newRegistry is the speaker's metrics registry: its own series, the Go
// runtime's and the process's.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// stopGrace is how long serve waits for its runnables after ctx ends.
const stopGrace = 30 * time.Second

// serve runs the speaker's parts until ctx ends: the metrics and health
// endpoints at once (a probe must answer while the caches fill), then
// the cache, and once it has synced every runnable, each in its own
// goroutine. It returns when ctx has ended and the runnables have
// returned (or stopGrace has passed), or at once with the error that
// kept it from starting.
func serve(ctx context.Context, log logr.Logger, opts Options, reg prometheus.Gatherer, c *kclient.Cached, runnables []func(context.Context)) error {
	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	listen := func(addr string, h http.Handler) error {
		if addr == "" || addr == "0" {
			return nil
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return err
		}
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() {
			if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error(err, "serving", "addr", addr)
			}
		}()
		return nil
	}
	metrics := http.NewServeMux()
	metrics.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if err := listen(opts.MetricsAddr, metrics); err != nil {
		return fmt.Errorf("metrics endpoint: %w", err)
	}
	// Alive and ready as soon as the process runs, as with
	// controller-runtime's ping checks: readiness gates nothing here.
	health := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	for _, p := range []string{"/healthz", "/healthz/", "/readyz", "/readyz/"} {
		health.Handle(p, ok)
	}
	if err := listen(opts.HealthAddr, health); err != nil {
		return fmt.Errorf("health endpoint: %w", err)
	}

	cctx, stopCache := context.WithCancel(context.Background())
	defer stopCache()
	go func() { <-ctx.Done(); stopCache() }()
	if err := c.Start(cctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	log.Info("caches synced; starting")
	var wg sync.WaitGroup
	for _, run := range runnables {
		wg.Add(1)
		go func() { defer wg.Done(); run(ctx) }()
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopGrace):
		log.Info("some parts did not stop in time", "grace", stopGrace)
	}
	return nil
}
