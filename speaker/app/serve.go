package app

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
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
// kept it from starting. /readyz answers ok once the caches have synced
// and joined (if set) is closed.
func serve(ctx context.Context, log logr.Logger, opts Options, reg prometheus.Gatherer, c *kclient.Cached, joined <-chan struct{}, runnables []func(context.Context)) error {
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
	// Alive as soon as the process runs. Ready once its caches synced and
	// it first tried to join the other speakers: a rolling update (one
	// speaker at a time) replaces the next node's speaker only then, so
	// that one's planned-restart notice reaches this one as a member.
	// Before, a successor slow to join (the API server loaded) missed its
	// neighbour's notice: the neighbour handed over as usual, this node
	// was left alone, and when the neighbour's successor joined it
	// settled (see internal/damping) and its addresses moved away and
	// back, 5 s apart.
	var synced atomic.Bool
	health := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	ready := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case !synced.Load():
			http.Error(w, "caches not synced yet", http.StatusServiceUnavailable)
		case !closed(joined):
			http.Error(w, "not joined to the other speakers yet", http.StatusServiceUnavailable)
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})
	for _, p := range []string{"/healthz", "/healthz/"} {
		health.Handle(p, ok)
	}
	for _, p := range []string{"/readyz", "/readyz/"} {
		health.Handle(p, ready)
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
	synced.Store(true)
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

// closed reports whether ch is closed; a nil ch counts as closed.
func closed(ch <-chan struct{}) bool {
	if ch == nil {
		return true
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
