package app

import (
	"context"
	"sync"
	"time"
)

// statusSyncer writes status objects off the reconcile path. Announcing
// an IP or advertising a route is the data plane and takes milliseconds;
// writing the ServiceL2Status or ServiceBGPStatus objects that report it
// costs up to two API requests per Service, so done inline a burst of new
// Services would hold up the next reconcile and every route it sets.
// Syncs are level-based, so only the latest one of each kind matters: a
// newer submission replaces one not yet started, and a failed one is
// retried with backoff unless a newer one has arrived.
//
// A sync writes one object at a time: the API server is shared with the
// controller and with every speaker's watches, and parallel writes made
// the speakers' informers fall behind (figures in hack/bench/README.md).
type statusSyncer struct {
	mu   sync.Mutex
	next map[string]func(context.Context) error // by kind ("l2", "bgp")
	kick chan struct{}
}

func newStatusSyncer() *statusSyncer {
	return &statusSyncer{next: map[string]func(context.Context) error{}, kick: make(chan struct{}, 1)}
}

// submit queues sync as the latest state for kind.
func (s *statusSyncer) submit(kind string, sync func(context.Context) error) {
	s.mu.Lock()
	s.next[kind] = sync
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default: // already kicked; the run loop takes the latest
	}
}

// Start runs the queued syncs until ctx ends (a manager Runnable).
func (s *statusSyncer) Start(ctx context.Context) error {
	const minBackoff, maxBackoff = 500 * time.Millisecond, 30 * time.Second
	backoff := minBackoff
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.kick:
		}
		s.mu.Lock()
		jobs := s.next
		s.next = map[string]func(context.Context) error{}
		s.mu.Unlock()
		failed := false
		for kind, sync := range jobs {
			if err := sync(ctx); err != nil && ctx.Err() == nil {
				failed = true
				s.mu.Lock()
				if _, newer := s.next[kind]; !newer {
					s.next[kind] = sync
				}
				s.mu.Unlock()
			}
		}
		if !failed {
			backoff = minBackoff
			continue
		}
		// Retry after a pause: the API server is likely busy or away,
		// and a new submission meanwhile is taken at the same time.
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, maxBackoff)
		select {
		case s.kick <- struct{}{}:
		default:
		}
	}
}
