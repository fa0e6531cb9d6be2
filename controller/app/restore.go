package app

import (
	"context"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
)

// restorer rebuilds every existing assignment from Service status before
// the first allocation, so a restarted controller never moves or
// duplicates an address. It runs only on the leader, after the caches have
// synced, and retries a failed attempt with backoff until it succeeds:
// reconciles wait for it (state.waitReady), so nothing is assigned from a
// half-known state, and a failure is never remembered as final.
type restorer struct {
	c     client.Reader
	state *state
	// backoff bounds the pause between attempts.
	minBackoff, maxBackoff time.Duration
}

// NeedLeaderElection: only the leader allocates, so only it restores.
func (r *restorer) NeedLeaderElection() bool { return true }

// Start restores, retrying until it succeeds or ctx ends.
func (r *restorer) Start(ctx context.Context) error {
	backoff := r.minBackoff
	for attempt := 1; ; attempt++ {
		err := r.once(ctx)
		if err == nil {
			close(r.state.ready)
			log.FromContext(ctx).Info("restored existing assignments", "attempts", attempt)
			return nil
		}
		log.FromContext(ctx).Error(err, "restoring existing assignments; retrying", "attempt", attempt, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, r.maxBackoff)
	}
}

func (r *restorer) once(ctx context.Context) error {
	if _, err := r.state.reloadConfig(ctx, r.c); err != nil {
		return fmt.Errorf("loading the configuration: %w", err)
	}
	if err := r.state.restore(ctx, r.c); err != nil {
		return fmt.Errorf("listing Services: %w", err)
	}
	return nil
}

// waitReady blocks until the restorer has finished, or ctx ends.
func (s *state) waitReady(ctx context.Context) error {
	select {
	case <-s.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
