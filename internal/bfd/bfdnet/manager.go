package bfdnet

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barelb/barelb/internal/bfd"
)

// Event is a session state change.
type Event struct {
	Key      Key
	From, To bfd.State
	// Diag is the local diagnostic (why this side went down);
	// RemoteDiag the last one the peer sent.
	Diag, RemoteDiag bfd.Diag
	Time             time.Time
}

// Options configure a Manager.
type Options struct {
	// OnChange is called for every state change, from the session's
	// goroutine, in order per session. It must not block for long (hand
	// the event to a channel or a reconciler queue); it must not call the
	// Manager's Add or Remove for the same session synchronously.
	OnChange func(Event)
}

// Discard reasons, the reason label of barelb_bfd_discarded_packets_total.
const (
	DiscardMalformed = "malformed"  // failed bfd.Decode (§6.8.6 packet checks)
	DiscardTTL       = "ttl"        // TTL below 255 (single-hop) or MinimumTTL
	DiscardNoSession = "no_session" // no session matches
	DiscardRefused   = "refused"    // the session discarded it (authentication, AdminDown)
	DiscardQueueFull = "queue_full" // the session's goroutine fell behind
)

// Manager runs BFD sessions. Its methods are safe for concurrent use.
type Manager struct {
	opts Options

	mu        sync.Mutex
	closed    bool
	sessions  map[Key]*session
	byDiscr   map[uint32]*session
	listeners map[listenerKey]*listener
	discards  map[string]*atomic.Uint64
	wg        sync.WaitGroup
}

type listenerKey struct{ multiHop, v6 bool }

// New returns a Manager with no sessions; sockets open on the first Add.
func New(opts Options) *Manager {
	m := &Manager{
		opts:      opts,
		sessions:  map[Key]*session{},
		byDiscr:   map[uint32]*session{},
		listeners: map[listenerKey]*listener{},
		discards:  map[string]*atomic.Uint64{},
	}
	for _, r := range []string{DiscardMalformed, DiscardTTL, DiscardNoSession, DiscardRefused, DiscardQueueFull} {
		m.discards[r] = new(atomic.Uint64)
	}
	return m
}

// ErrClosed is returned by Add after Close.
var ErrClosed = errors.New("bfdnet: manager closed")

// Add starts a session for c, or, when a session with c.Key() exists,
// changes its profile in place (a Poll Sequence if it is Up; it stays
// Up). Invalid configurations, echo mode among them, are refused with
// every reason; sockets that cannot be opened are an error too.
// Sockets are created in the calling thread's network namespace.
func (m *Manager) Add(c Config) error {
	c, err := c.validate()
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if s, ok := m.sessions[c.Key()]; ok {
		s.setProfile(c.Profile)
		return nil
	}
	lk := listenerKey{multiHop: c.MultiHop, v6: c.Remote.Is6()}
	if _, ok := m.listeners[lk]; !ok {
		l, err := listen(lk.multiHop, lk.v6)
		if err != nil {
			return err
		}
		m.listeners[lk] = l
		m.wg.Add(1)
		go m.serve(l)
	}
	ifIndex := 0
	if c.Interface != "" {
		ifc, err := net.InterfaceByName(c.Interface)
		if err != nil {
			return fmt.Errorf("bfdnet: interface %q: %w", c.Interface, err)
		}
		ifIndex = ifc.Index
	}
	snd, err := dial(c, ifIndex)
	if err != nil {
		return err
	}
	s := newSession(m, c, m.newDiscr(), ifIndex, snd)
	m.sessions[c.Key()] = s
	m.byDiscr[s.discr] = s
	m.wg.Add(1)
	go s.run()
	return nil
}

// newDiscr picks a random, unused, non-zero local discriminator; random
// so that a restarted speaker is not mistaken for its previous life.
func (m *Manager) newDiscr() uint32 {
	var b [4]byte
	for {
		_, _ = rand.Read(b[:])
		d := binary.BigEndian.Uint32(b[:])
		if _, used := m.byDiscr[d]; d != 0 && !used {
			return d
		}
	}
}

// Remove stops the session with key k, first sending one AdminDown packet
// so the peer goes Down at once rather than after its detection time
// (best effort: if it is lost the peer's timer takes over). No Event is
// reported for the session's own AdminDown. Removing an unknown key does
// nothing.
func (m *Manager) Remove(k Key) {
	k.Remote, k.Local = k.Remote.Unmap().WithZone(""), k.Local.Unmap()
	m.mu.Lock()
	s, ok := m.sessions[k]
	if ok {
		delete(m.sessions, k)
		delete(m.byDiscr, s.discr)
	}
	m.mu.Unlock()
	if ok {
		s.stop()
	}
}

// Close removes every session and closes the listeners.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	sessions := m.sessions
	m.sessions, m.byDiscr = map[Key]*session{}, map[uint32]*session{}
	for _, l := range m.listeners {
		l.conn.Close()
	}
	m.mu.Unlock()
	for _, s := range sessions {
		s.stop()
	}
	m.wg.Wait()
}

// SessionStats is one session's state and counters.
type SessionStats struct {
	Key    Key
	Status bfd.Status
	// ControlIn counts packets accepted by the session, ControlOut
	// packets sent; UpEvents transitions to Up, DownEvents transitions
	// out of Up (flaps).
	ControlIn, ControlOut, UpEvents, DownEvents uint64
	// SendErrors counts packets the kernel refused (no route, link down).
	SendErrors uint64
}

// Stats is a snapshot of a Manager.
type Stats struct {
	Sessions []SessionStats
	// Discards counts received packets no session accepted, by reason.
	Discards map[string]uint64
}

// Snapshot returns every session's state and counters.
func (m *Manager) Snapshot() Stats {
	m.mu.Lock()
	list := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	st := Stats{Discards: make(map[string]uint64, len(m.discards))}
	for r, c := range m.discards {
		st.Discards[r] = c.Load()
	}
	m.mu.Unlock()
	for _, s := range list {
		st.Sessions = append(st.Sessions, s.stats())
	}
	return st
}

// Session returns the stats of the session with key k.
func (m *Manager) Session(k Key) (SessionStats, bool) {
	k.Remote, k.Local = k.Remote.Unmap().WithZone(""), k.Local.Unmap()
	m.mu.Lock()
	s, ok := m.sessions[k]
	m.mu.Unlock()
	if !ok {
		return SessionStats{}, false
	}
	return s.stats(), true
}

func (m *Manager) discard(reason string) { m.discards[reason].Add(1) }

// serve reads one listener until it is closed.
func (m *Manager) serve(l *listener) {
	defer m.wg.Done()
	buf := make([]byte, 1500)
	for {
		in, err := l.read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p, err := bfd.Decode(in.data)
		if err != nil {
			m.discard(DiscardMalformed)
			continue
		}
		s := m.lookup(l.multiHop, &p, in)
		if s == nil {
			m.discard(DiscardNoSession)
			continue
		}
		if in.ttl < int(s.minTTL.Load()) {
			m.discard(DiscardTTL)
			continue
		}
		s.deliver(p)
	}
}

// lookup finds the session a packet belongs to: by Your Discriminator
// when set (the peer's source address must still match), otherwise by
// addresses and interface (RFC 5881 §3, RFC 5883 §3).
func (m *Manager) lookup(multiHop bool, p *bfd.Packet, in inbound) *session {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p.YourDiscr != 0 {
		s := m.byDiscr[p.YourDiscr]
		if s == nil || !s.matches(multiHop, in) {
			return nil
		}
		return s
	}
	for _, s := range m.sessions {
		if s.matches(multiHop, in) {
			return s
		}
	}
	return nil
}
