package damping

import (
	"testing"
	"time"
)

func TestTracker(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	s := time.Second

	var off Tracker
	off.Kick(t0)
	off.Alone(t0, true)
	if off.Settling(t0) {
		t.Error("Delay 0 settles")
	}

	tr := Tracker{Delay: 5 * s}
	if tr.Settling(t0) {
		t.Error("settling before any event")
	}
	tr.Kick(t0) // start
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {4 * s, true}, {5 * s, false}} {
		if got := tr.Settling(at(c.at)); got != c.want {
			t.Errorf("after start, at %v: settling %v, want %v", c.at, got, c.want)
		}
	}
	if d, ok := tr.Next(at(2 * s)); !ok || d != 3*s {
		t.Errorf("Next at 2s = %v, %v; want 3s, true", d, ok)
	}
	if _, ok := tr.Next(at(6 * s)); ok {
		t.Error("Next after settling says the verdict changes by itself")
	}

	// A link flap at 10s and another at 13s: settled 5s after the last.
	tr.Kick(at(10 * s))
	tr.Kick(at(13 * s))
	if !tr.Settling(at(17*s)) || tr.Settling(at(18*s)) {
		t.Error("a second flap does not restart the settling time")
	}

	// Alone from 20s to 60s: settling all along, and 5s after.
	tr.Alone(at(20*s), true)
	if !tr.Settling(at(59 * s)) {
		t.Error("not settling while alone")
	}
	if _, ok := tr.Next(at(30 * s)); ok {
		t.Error("Next while alone says the verdict changes by itself")
	}
	tr.Alone(at(60*s), false)
	if !tr.Settling(at(64*s)) || tr.Settling(at(65*s)) {
		t.Error("not settling for Delay after others came back")
	}
	// Still not alone: no kick.
	tr.Alone(at(70*s), false)
	if tr.Settling(at(70 * s)) {
		t.Error("a repeated not-alone kicks")
	}
}

// A resumed speaker (planned restart) is not settling at start, while
// alone before its first join, or at that join; later events count.
func TestTrackerResume(t *testing.T) {
	t0 := time.Unix(1000, 0)
	s := time.Second
	tr := Tracker{Delay: 5 * s}
	tr.Kick(t0) // the start, as the speaker always records it
	tr.Resume()
	tr.Alone(t0, true)
	if tr.Settling(t0) {
		t.Error("resumed speaker settles while alone before its first join")
	}
	tr.Alone(t0.Add(s), false) // joined
	if tr.Settling(t0.Add(s)) {
		t.Error("resumed speaker settles when it meets the others")
	}
	tr.Alone(t0.Add(10*s), true) // cut off later: as usual
	if !tr.Settling(t0.Add(10 * s)) {
		t.Error("resumed speaker alone after its first join is not settling")
	}
	tr.Alone(t0.Add(11*s), false)
	if !tr.Settling(t0.Add(15 * s)) {
		t.Error("no settling after rejoining later")
	}
}
