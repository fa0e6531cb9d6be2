package kclient

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
)

// Loop runs one reconcile function, one pass at a time, whenever it is
// kicked: a speaker's reconcilers each look at the whole cluster, so a
// kick during a pass just asks for one more pass after it.
//
// A pass that fails is retried with exponential backoff (5 ms doubling
// to MaxBackoff), ignoring its requeue time, as controller-runtime does;
// a pass that asks to be requeued runs again after that time unless a
// kick comes first. A panic in a pass is logged and retried as an error.
type Loop struct {
	Name      string
	Log       logr.Logger
	Reconcile func(ctx context.Context) (requeueAfter time.Duration, err error)
	// MaxBackoff caps the retry delay after errors (30 s when zero).
	MaxBackoff time.Duration

	kick chan struct{}
}

// NewLoop returns a Loop; Run runs it.
func NewLoop(name string, log logr.Logger, reconcile func(context.Context) (time.Duration, error)) *Loop {
	return &Loop{Name: name, Log: log, Reconcile: reconcile, kick: make(chan struct{}, 1)}
}

// Kick asks for a pass; it never blocks. A nil Loop ignores it.
func (l *Loop) Kick() {
	if l == nil {
		return
	}
	select {
	case l.kick <- struct{}{}:
	default: // a pass is already pending; it will see this change
	}
}

// Run makes a first pass at once, then one per kick, until ctx ends.
func (l *Loop) Run(ctx context.Context) {
	maxBackoff := l.MaxBackoff
	if maxBackoff == 0 {
		maxBackoff = 30 * time.Second
	}
	const minBackoff = 5 * time.Millisecond
	backoff := time.Duration(0)
	timer := time.NewTimer(0) // the first pass
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		case <-timer.C:
		}
		after, err := l.pass(ctx)
		if ctx.Err() != nil {
			return
		}
		switch {
		case err != nil:
			backoff = min(max(2*backoff, minBackoff), maxBackoff)
			l.Log.Error(err, "reconcile failed; retrying", "loop", l.Name, "after", backoff)
			timer.Reset(backoff)
		case after > 0:
			backoff = 0
			timer.Reset(after)
		default:
			backoff = 0
		}
	}
}

func (l *Loop) pass(ctx context.Context) (after time.Duration, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s reconcile: %v", l.Name, p)
		}
	}()
	return l.Reconcile(ctx)
}
