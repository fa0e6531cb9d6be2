package app

import (
	"context"
	"fmt"
	"slices"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/internal/lbspec"
)

// state is what the reconcilers share: the allocator, the configuration
// it was built from, and which Event each object last got.
type state struct {
	opts  Options
	alloc *allocator.Allocator
	m     *metrics

	// ready is closed once the restorer has rebuilt every assignment;
	// reconciles wait for it (see restore.go).
	ready chan struct{}

	mu       sync.Mutex
	cfg      *config.Config
	problems config.Problems
	// poolsDirty asks the status flusher to rewrite pool counts.
	poolsDirty bool
	// lastWrite remembers, per Service, the resourceVersions our last
	// writes started from and produced, so a reconcile on a cache that has
	// not caught up with them does not write the same thing again.
	lastWrite map[string]*written
}

func newState(opts Options, m *metrics) *state {
	return &state{
		opts:      opts,
		alloc:     allocator.New(),
		m:         m,
		cfg:       &config.Config{Pools: map[string]*config.Pool{}},
		ready:     make(chan struct{}),
		lastWrite: map[string]*written{},
	}
}

type written struct {
	rvs  []string
	res  allocator.Result
	cond *metav1.Condition
}

// wrote records (or, with nil, forgets) the writes just made for key.
func (s *state) wrote(key string, w *written) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if w == nil {
		delete(s.lastWrite, key)
		return
	}
	s.lastWrite[key] = w
}

// inFlight reports whether the cached object (at rv) predates or sits
// between our own writes of exactly res.
func (s *state) inFlight(key, rv string, res allocator.Result, cond *metav1.Condition) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.lastWrite[key]
	if w == nil || w.res.Pool != res.Pool || !slices.Equal(w.res.IPs, res.IPs) {
		return false
	}
	if (w.cond == nil) != (cond == nil) || (cond != nil && !sameCondition(*w.cond, *cond)) {
		return false
	}
	return slices.Contains(w.rvs, rv)
}

func (s *state) restore(ctx context.Context, c client.Reader) error {
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs); err != nil {
		return err
	}
	items := svcs.Items
	lbspec.SortForRestore(items)
	for i := range items {
		svc := &items[i]
		if !lbspec.Handles(svc, s.opts.LBClass) {
			continue
		}
		ips := lbspec.IngressIPs(svc)
		if len(ips) == 0 {
			continue
		}
		req, err := lbspec.Request(svc)
		if err != nil {
			req.Sharing = allocator.Sharing{}
		}
		if err := s.alloc.Restore(lbspec.Key(svc), ips, req.Sharing); err != nil {
			// Left for the Service's reconcile, which reports it.
			continue
		}
	}
	s.markPoolsDirty()
	return nil
}

// reloadConfig rebuilds the model from the cached objects and hands the
// pools to the allocator. It returns whether anything changed.
func (s *state) reloadConfig(ctx context.Context, c client.Reader) (bool, error) {
	in, err := kube.ListConfig(ctx, crkube.Reader(c), s.opts.Namespace)
	if err != nil {
		return false, err
	}
	// Pools in use: those Services were allocated from (what every
	// speaker uses too, so all keep the same pool of two overlapping ones
	// created in the same second), and those of the previous configuration.
	var svcs corev1.ServiceList
	if err := c.List(ctx, &svcs); err != nil {
		return false, err
	}
	inUse := lbspec.PoolsInUse(svcs.Items, s.opts.LBClass)
	prev, _ := s.config()
	for name := range prev.Pools {
		inUse[name] = true
	}
	in.InUse = inUse
	cfg, problems := config.Build(in)
	ap := make([]allocator.Pool, 0, len(cfg.Pools))
	for _, p := range cfg.Pools {
		ap = append(ap, allocator.Pool{Name: p.Name, Ranges: p.Ranges, AutoAssign: p.AutoAssign, AvoidBuggyIPs: p.AvoidBuggyIPs, Priority: p.Priority, Restricted: p.Restricted()})
	}
	if err := s.alloc.SetPools(ap); err != nil {
		// config.Build already refuses what SetPools refuses; reaching
		// here is a bug, and the previous pools stay in force.
		return false, fmt.Errorf("allocator refused validated pools: %w", err)
	}
	s.mu.Lock()
	s.cfg, s.problems = cfg, problems
	s.poolsDirty = true
	s.mu.Unlock()
	s.m.configLoaded.Set(1)
	if len(problems.Blocking()) > 0 {
		s.m.configStale.Set(1)
	} else {
		s.m.configStale.Set(0)
	}
	s.m.outOfPool.Set(float64(len(s.alloc.OutOfPool())))
	return true, nil
}

func (s *state) config() (*config.Config, config.Problems) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cfg, s.problems
}

func (s *state) markPoolsDirty() {
	s.mu.Lock()
	s.poolsDirty = true
	s.mu.Unlock()
}

func (s *state) takePoolsDirty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.poolsDirty
	s.poolsDirty = false
	return d
}
