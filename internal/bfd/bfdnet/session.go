package bfdnet

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/barelb/barelb/internal/bfd"
)

// session drives one bfd.Session with the real clock and its socket.
type session struct {
	m       *Manager
	cfg     Config
	key     Key
	discr   uint32
	ifIndex int
	minTTL  atomic.Int32
	snd     *sender

	rx       chan bfd.Packet
	profiles chan bfd.Profile
	done     chan struct{}
	stopOnce sync.Once
	exited   chan struct{}

	mu  sync.Mutex // guards fsm against stats readers
	fsm *bfd.Session

	in, out, ups, downs, sendErrs atomic.Uint64
}

func newSession(m *Manager, c Config, discr uint32, ifIndex int, snd *sender) *session {
	s := &session{
		m: m, cfg: c, key: c.Key(), discr: discr, ifIndex: ifIndex, snd: snd,
		rx:       make(chan bfd.Packet, 16),
		profiles: make(chan bfd.Profile, 1),
		done:     make(chan struct{}),
		exited:   make(chan struct{}),
		fsm:      bfd.NewSession(discr, c.Profile, time.Now(), nil),
	}
	s.setMinTTL(c.Profile)
	return s
}

// setMinTTL applies RFC 5881 §5 (single-hop: exactly 255) or the
// profile's MinimumTTL (multi-hop).
func (s *session) setMinTTL(p bfd.Profile) {
	if s.cfg.MultiHop {
		s.minTTL.Store(int32(p.MinimumTTL))
	} else {
		s.minTTL.Store(sendTTL)
	}
}

// matches reports whether a packet without a usable discriminator (or
// one whose discriminator pointed here) comes from this session's peer.
func (s *session) matches(multiHop bool, in inbound) bool {
	switch {
	case s.cfg.MultiHop != multiHop, s.cfg.Remote != in.src:
		return false
	case s.cfg.Local.IsValid() && in.dst.IsValid() && s.cfg.Local != in.dst:
		return false
	case s.ifIndex != 0 && in.ifIndex != 0 && s.ifIndex != in.ifIndex:
		return false
	}
	return true
}

// deliver hands a packet to the session's goroutine without blocking
// the listener.
func (s *session) deliver(p bfd.Packet) {
	select {
	case s.rx <- p:
	default:
		s.m.discard(DiscardQueueFull)
	}
}

// setProfile replaces any profile change not yet applied.
func (s *session) setProfile(p bfd.Profile) {
	s.setMinTTL(p)
	for {
		select {
		case s.profiles <- p:
			return
		case <-s.profiles:
		}
	}
}

func (s *session) stop() {
	s.stopOnce.Do(func() { close(s.done) })
	<-s.exited
}

func (s *session) run() {
	defer s.m.wg.Done()
	defer close(s.exited)
	defer s.snd.close()
	// Go 1.23+ timers: Reset needs no draining.
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	buf := make([]byte, 0, 64)
	for {
		s.mu.Lock()
		next := s.fsm.NextDeadline()
		s.mu.Unlock()
		timer.Reset(time.Until(next))
		var r bfd.Result
		var err error
		select {
		case p := <-s.rx:
			s.mu.Lock()
			r, err = s.fsm.Receive(p, time.Now())
			s.mu.Unlock()
			if err != nil {
				s.m.discard(DiscardRefused)
			} else {
				s.in.Add(1)
			}
		case <-timer.C:
			s.mu.Lock()
			r = s.fsm.Tick(time.Now())
			s.mu.Unlock()
		case p := <-s.profiles:
			s.mu.Lock()
			s.fsm.SetProfile(p, time.Now())
			s.mu.Unlock()
		case <-s.done:
			s.mu.Lock()
			s.fsm.AdminDown(time.Now())
			p := s.fsm.Packet()
			s.mu.Unlock()
			s.send(&buf, &p)
			return
		}
		if r.Send {
			s.send(&buf, &r.Packet)
		}
		if r.Changed {
			s.report(r.Change)
		}
	}
}

func (s *session) send(buf *[]byte, p *bfd.Packet) {
	*buf = bfd.AppendEncode((*buf)[:0], p)
	if err := s.snd.send(*buf); err != nil {
		s.sendErrs.Add(1)
		return
	}
	s.out.Add(1)
}

func (s *session) report(c bfd.Change) {
	if c.To == bfd.Up {
		s.ups.Add(1)
	}
	if c.From == bfd.Up {
		s.downs.Add(1)
	}
	if s.m.opts.OnChange == nil {
		return
	}
	s.mu.Lock()
	remoteDiag := s.fsm.Status().RemoteDiag
	s.mu.Unlock()
	s.m.opts.OnChange(Event{Key: s.key, From: c.From, To: c.To, Diag: c.Diag, RemoteDiag: remoteDiag, Time: time.Now()})
}

func (s *session) stats() SessionStats {
	s.mu.Lock()
	st := s.fsm.Status()
	s.mu.Unlock()
	return SessionStats{
		Key: s.key, Status: st,
		ControlIn: s.in.Load(), ControlOut: s.out.Load(),
		UpEvents: s.ups.Load(), DownEvents: s.downs.Load(), SendErrors: s.sendErrs.Load(),
	}
}
