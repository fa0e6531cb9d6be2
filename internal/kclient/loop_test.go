package kclient

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/barelb/barelb/testsupport/check"
)

// passes records a Loop's passes; each returns the next of results.
type passes struct {
	mu      sync.Mutex
	at      []time.Time
	results []func() (time.Duration, error)
	block   chan struct{} // if set, a pass waits on it
	started chan struct{} // if set, gets a value as a pass starts
}

func (p *passes) reconcile(context.Context) (time.Duration, error) {
	if p.started != nil {
		select {
		case p.started <- struct{}{}:
		default:
		}
	}
	if p.block != nil {
		<-p.block
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = append(p.at, time.Now())
	if n := len(p.at) - 1; n < len(p.results) {
		return p.results[n]()
	}
	return 0, nil
}

func (p *passes) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.at)
}

func runLoop(t *testing.T, p *passes) *Loop {
	l := NewLoop("test", logr.Discard(), p.reconcile)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { l.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return l
}

func TestLoopFirstPassAndKicks(t *testing.T) {
	p := &passes{}
	l := runLoop(t, p)
	check.Eventually(t, 5*time.Second, "the first pass without a kick", func() error {
		if p.count() < 1 {
			return errors.New("no pass yet")
		}
		return nil
	})
	l.Kick()
	check.Eventually(t, 5*time.Second, "a pass per kick", func() error {
		if n := p.count(); n != 2 {
			return fmt.Errorf("%d passes", n)
		}
		return nil
	})
}

// Kicks during a pass ask for one more pass, not one each.
func TestLoopCoalescesKicks(t *testing.T) {
	p := &passes{block: make(chan struct{}), started: make(chan struct{}, 1)}
	l := runLoop(t, p)
	<-p.started // the first pass is under way
	for range 10 {
		l.Kick()
	}
	close(p.block) // the first pass ends; one pass is still pending
	check.Eventually(t, 5*time.Second, "the pending pass", func() error {
		if p.count() < 2 {
			return errors.New("one pass only")
		}
		return nil
	})
	// Nothing more is pending: the count stays at 2 while a later kick
	// still gets its pass.
	if n := p.count(); n != 2 {
		t.Fatalf("%d passes for 10 kicks during one pass, want 2", n)
	}
	l.Kick()
	check.Eventually(t, 5*time.Second, "a pass for a later kick", func() error {
		if p.count() != 3 {
			return errors.New("no third pass")
		}
		return nil
	})
}

// A failed pass is retried on its own with growing delays; a pass that
// asks to be requeued runs again after that time; a panic counts as an
// error.
func TestLoopRetriesAndRequeues(t *testing.T) {
	fail := func() (time.Duration, error) { return time.Hour, errors.New("boom") } // the requeue time is ignored
	p := &passes{results: []func() (time.Duration, error){
		fail, fail, fail,
		func() (time.Duration, error) { panic("bad") },
		func() (time.Duration, error) { return 50 * time.Millisecond, nil },
	}}
	runLoop(t, p)
	check.Eventually(t, 10*time.Second, "retries, then the requeued pass", func() error {
		if p.count() < 6 {
			return errors.New("fewer than 6 passes")
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	gap := func(i int) time.Duration { return p.at[i].Sub(p.at[i-1]) }
	if gap(3) < gap(1) {
		t.Errorf("retry delays did not grow: %v then %v", gap(1), gap(3))
	}
	if gap(5) < 50*time.Millisecond {
		t.Errorf("requeued pass after %v, want >= 50ms", gap(5))
	}
}

func TestNilLoopKick(t *testing.T) {
	var l *Loop
	l.Kick() // must not panic: events may come before a loop is set
}
