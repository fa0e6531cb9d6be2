package damping

import "time"

// Tracker is one node's settling state. The zero Tracker (Delay 0)
// never settles: damping off. Not safe for concurrent use.
type Tracker struct {
	Delay time.Duration
	until time.Time
	alone bool
	// resumed: the speaker replaced its predecessor in a planned restart
	// and has not met another member yet (see Resume).
	resumed bool
}

// Resume marks a speaker that took over from its predecessor on the same
// node in a planned restart (a rolling upgrade): the node was settled and
// held as a member by the others meanwhile, its links did not change, so
// it does not settle for its start, nor while alone before it first meets
// the others, nor when it does. Later events count as usual.
func (t *Tracker) Resume() {
	t.until = time.Time{}
	t.resumed = true
}

// Kick starts (or restarts) the settling time at now: the speaker
// started or a link changed.
func (t *Tracker) Kick(now time.Time) {
	if t.Delay > 0 {
		t.until = now.Add(t.Delay)
	}
}

// Alone records whether the node sees no other member alive; leaving
// that state kicks.
func (t *Tracker) Alone(now time.Time, alone bool) {
	if t.resumed {
		if !alone {
			t.resumed = false // met the others: from now on as usual
		}
		return
	}
	if t.alone && !alone {
		t.Kick(now)
	}
	t.alone = alone
}

// Settling reports the verdict at now.
func (t *Tracker) Settling(now time.Time) bool {
	if t.Delay <= 0 {
		return false
	}
	return t.alone || now.Before(t.until)
}

// Next is how long after now the verdict may change by itself (the
// settling time running out); ok is false when only an event can change
// it.
func (t *Tracker) Next(now time.Time) (d time.Duration, ok bool) {
	if t.Delay <= 0 || t.alone || !now.Before(t.until) {
		return 0, false
	}
	return t.until.Sub(now), true
}
