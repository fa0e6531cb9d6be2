// Package check holds the assertions every barelb test uses: poll a
// condition until a deadline (never sleep as synchronisation) and fail on
// an error. One copy, so every test polls and reports the same way.
//
// Cost: Eventually and Poll call cond every 20 ms until it holds, so a
// cond should be cheap (a cached read, a netlink dump, one API GET).
package check

import (
	"fmt"
	"testing"
	"time"
)

// Interval is how often Eventually and Poll evaluate their condition.
const Interval = 20 * time.Millisecond

// Eventually calls cond until it returns nil and fails the test with the
// last error when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := PollErr(timeout, cond); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// PollErr calls cond until it returns nil, or returns its last error
// (wrapped with the timeout) when timeout passes first. For callers that
// are not tests (the lab, benchmarks) or that want to go on after a miss.
func PollErr(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v: %w", timeout, err)
		}
		time.Sleep(Interval) // the poll interval, bounded by the deadline
	}
}

// Poll is PollErr for a boolean condition.
func Poll(timeout time.Duration, cond func() bool) error {
	return PollErr(timeout, func() error {
		if cond() {
			return nil
		}
		return fmt.Errorf("condition still false")
	})
}

// Must fails the test at once on a non-nil error.
func Must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
