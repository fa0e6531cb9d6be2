package check

import (
	"errors"
	"testing"
	"time"
)

func TestPollErr(t *testing.T) {
	n := 0
	if err := PollErr(time.Second, func() error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	}); err != nil || n != 3 {
		t.Fatalf("err %v after %d calls", err, n)
	}
	err := PollErr(50*time.Millisecond, func() error { return errors.New("never") })
	if err == nil || err.Error() != "not within 50ms: never" {
		t.Fatalf("timeout error = %v", err)
	}
	if Poll(30*time.Millisecond, func() bool { return false }) == nil {
		t.Fatal("Poll of a false condition succeeded")
	}
}
