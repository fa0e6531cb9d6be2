package members

import (
	"encoding/binary"
	"errors"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// Planned restarts. A speaker replaced by a rolling upgrade comes back on
// the same node seconds later, and the node's kube-proxy forwards its
// addresses' traffic all the while (the LAN's neighbour caches still
// point at the node). Moving its addresses away and back would cut the
// connections in flight twice. So a speaker that knows it is being
// replaced tells every member first (AnnounceRestart, a reliable message
// to each, so it cannot be overtaken by its leave), and the others then
// hold it as a member for up to the hold it names: it stays in Alive,
// Meta and States ("restarting") until its successor joins under the same
// name or the hold runs out, whichever comes first. A speaker that dies
// without the notice is failed over as before.

// MaxRestartHold bounds the hold a notice may ask for: a node that does
// not come back is failed over after at most this long.
const MaxRestartHold = time.Minute

// noticeTTL is how long a received notice waits for the member's leave:
// a notice whose sender then did not go (its shutdown was aborted) must
// not hold it at some later, unplanned death.
const noticeTTL = 10 * time.Second

// restartMagic starts a restart notice; other user messages are ignored.
const restartMagic = "barelb/restart/1"

// encodeNotice is restartMagic, hold in milliseconds (uint32), the
// sender's name.
func encodeNotice(name string, hold time.Duration) []byte {
	b := append([]byte(restartMagic), 0, 0, 0, 0)
	binary.BigEndian.PutUint32(b[len(restartMagic):], uint32(hold.Milliseconds()))
	return append(b, name...)
}

func decodeNotice(b []byte) (name string, hold time.Duration, err error) {
	n := len(restartMagic)
	if len(b) <= n+4 || string(b[:n]) != restartMagic {
		return "", 0, errors.New("members: not a restart notice")
	}
	hold = min(time.Duration(binary.BigEndian.Uint32(b[n:n+4]))*time.Millisecond, MaxRestartHold)
	return string(b[n+4:]), hold, nil
}

// restarts is one member's record of the others' planned restarts.
type restarts struct {
	onChange func()

	mu      sync.Mutex
	notices map[string]notice      // member -> its notice, until it leaves
	held    map[string]*time.Timer // member -> the end of its hold
}

type notice struct {
	hold time.Duration
	at   time.Time
}

func newRestarts(onChange func()) *restarts {
	return &restarts{onChange: onChange, notices: map[string]notice{}, held: map[string]*time.Timer{}}
}

// noticed records a member's restart notice.
func (r *restarts) noticed(name string, hold time.Duration, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notices[name] = notice{hold: hold, at: now}
}

// left starts the hold of a member that gave notice; it reports whether
// it did. When the hold runs out the member is gone and onChange fires.
func (r *restarts) left(name string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.notices[name]
	delete(r.notices, name)
	if !ok || now.Sub(n.at) > noticeTTL || n.hold <= 0 {
		return false
	}
	if t := r.held[name]; t != nil {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(n.hold, func() {
		r.mu.Lock()
		mine := r.held[name] == t
		if mine {
			delete(r.held, name)
		}
		r.mu.Unlock()
		if mine && r.onChange != nil {
			r.onChange()
		}
	})
	r.held[name] = t
	return true
}

// joined ends a member's hold: its successor is here.
func (r *restarts) joined(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t := r.held[name]; t != nil {
		t.Stop()
		delete(r.held, name)
	}
	delete(r.notices, name)
}

// heldNames returns the members held now.
func (r *restarts) heldNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.held))
	for n := range r.held {
		out = append(out, n)
	}
	return out
}

// AnnounceRestart tells every live member that this node is about to
// leave and come back within hold (at most MaxRestartHold), so that they
// keep it as a member meanwhile; call Leave next. Each member is told
// over its own reliable (TCP) stream, in parallel, within timeout; it
// returns how many were told. A member not told fails this node over as
// for any leave.
func (m *Members) AnnounceRestart(hold, timeout time.Duration) (told int, err error) {
	self := m.ml.LocalNode().Name
	msg := encodeNotice(self, min(hold, MaxRestartHold))
	var others []*memberlist.Node
	for _, n := range m.ml.Members() {
		if n.Name != self && n.State == memberlist.StateAlive {
			others = append(others, n)
		}
	}
	// A bounded number of streams at once: a large cluster must not open
	// thousands of connections in the moment before exit.
	const streams = 32
	results := make(chan error, len(others))
	sem := make(chan struct{}, streams)
	for _, n := range others {
		go func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			results <- m.ml.SendReliable(n, msg)
		}()
	}
	deadline := time.After(timeout)
	for range others {
		select {
		case e := <-results:
			if e == nil {
				told++
			} else if err == nil {
				err = e
			}
		case <-deadline:
			return told, errors.Join(err, errors.New("members: restart notice timed out"))
		}
	}
	return told, err
}
