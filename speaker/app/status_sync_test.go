package app

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStatusSyncerRunsLatestOnly(t *testing.T) {
	s := newStatusSyncer()
	var mu sync.Mutex
	var ran []string
	record := func(name string) func(context.Context) error {
		return func(context.Context) error { mu.Lock(); ran = append(ran, name); mu.Unlock(); return nil }
	}
	// Queued before the loop runs: only the latest of each kind counts.
	s.submit("l2", record("l2-old"))
	s.submit("l2", record("l2-new"))
	s.submit("bgp", record("bgp"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Start(ctx) }()
	waitFor(t, "both kinds synced", func() bool { mu.Lock(); defer mu.Unlock(); return len(ran) == 2 })
	mu.Lock()
	defer mu.Unlock()
	for _, r := range ran {
		if r == "l2-old" {
			t.Errorf("a superseded sync ran: %v", ran)
		}
	}
}

func TestStatusSyncerRetriesUntilNewer(t *testing.T) {
	s := newStatusSyncer()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Start(ctx) }()

	var failing, newer atomic.Int32
	s.submit("l2", func(context.Context) error {
		if failing.Add(1) < 3 {
			return errors.New("API server away")
		}
		return nil
	})
	waitFor(t, "the failing sync to be retried until it succeeds", func() bool { return failing.Load() == 3 })

	// A sync that keeps failing is dropped once a newer one arrives.
	var stale atomic.Int32
	s.submit("bgp", func(context.Context) error { stale.Add(1); return errors.New("still away") })
	waitFor(t, "the stale sync to run", func() bool { return stale.Load() >= 1 })
	s.submit("bgp", func(context.Context) error { newer.Add(1); return nil })
	waitFor(t, "the newer sync to run", func() bool { return newer.Load() == 1 })
	// One more pass of the loop: a stale sync still queued would run in it.
	before := stale.Load()
	var marker atomic.Bool
	s.submit("l2", func(context.Context) error { marker.Store(true); return nil })
	waitFor(t, "another pass", marker.Load)
	if after := stale.Load(); after != before {
		t.Errorf("the superseded sync ran again (%d -> %d)", before, after)
	}
}
