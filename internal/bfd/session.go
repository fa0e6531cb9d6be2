package bfd

import (
	"errors"
	"math/rand/v2"
	"time"
)

// SlowTxInterval is the floor of bfd.DesiredMinTxInterval while a session
// is not Up (§6.8.3).
const SlowTxInterval = time.Second

// Errors of Session.Receive: the packet is discarded (§6.8.6).
var (
	ErrAuthNotInUse   = errors.New("bfd: authenticated packet, but no authentication is configured")
	ErrLocalAdminDown = errors.New("bfd: session is administratively down")
)

// Change is a session state transition.
type Change struct {
	From, To State
	// Diag is bfd.LocalDiag after the change: why the session went down.
	Diag Diag
}

// Result says what the caller must do after an event: send Packet now
// when Send is set, report Change when Changed is set.
type Result struct {
	Send    bool
	Packet  Packet
	Changed bool
	Change  Change
}

// Status is a snapshot of a session's variables, for status and metrics.
type Status struct {
	State, RemoteState      State
	LocalDiag, RemoteDiag   Diag
	LocalDiscr, RemoteDiscr uint32
	// TxInterval is the transmit interval before jitter; DetectionTime
	// is 0 until a packet has been received.
	TxInterval, DetectionTime time.Duration
	Polling                   bool
}

// Session is the state of one BFD session (§6.8.1) in asynchronous mode.
// It is not safe for concurrent use; bfdnet serialises calls per session.
type Session struct {
	localDiscr uint32
	prof       Profile
	jitter     func() float64

	state, remoteState    State
	localDiag, remoteDiag Diag
	remoteDiscr           uint32
	remoteDemand          bool
	remoteMinRx           time.Duration
	remoteDesiredTx       time.Duration
	remoteDetectMult      uint8

	// desiredTx and requiredRx are what packets advertise; txInUse and
	// rxInUse are what timing uses, and differ from them only during a
	// Poll Sequence (§6.8.3).
	desiredTx, requiredRx time.Duration
	txInUse, rxInUse      time.Duration
	polling               bool

	nextTx, detectAt time.Time
}

// NewSession creates a session in state Down with local discriminator
// discr (non-zero, unique on the system) and profile p (defaults applied,
// not validated: bounds are the caller's policy). jitter returns values
// in [0,1); nil uses math/rand/v2. Unless p.PassiveMode, the first packet
// is due at now.
func NewSession(discr uint32, p Profile, now time.Time, jitter func() float64) *Session {
	if jitter == nil {
		jitter = rand.Float64
	}
	s := &Session{
		localDiscr:  discr,
		prof:        p.WithDefaults(),
		jitter:      jitter,
		state:       Down,
		remoteState: Down,
		remoteMinRx: time.Microsecond, // §6.8.1: initialised to 1
		nextTx:      now,
	}
	s.desiredTx = max(s.prof.TransmitInterval, SlowTxInterval)
	s.requiredRx = s.prof.ReceiveInterval
	s.txInUse, s.rxInUse = s.desiredTx, s.requiredRx
	return s
}

// State is bfd.SessionState.
func (s *Session) State() State { return s.state }

// Status returns a snapshot of the session.
func (s *Session) Status() Status {
	st := Status{
		State: s.state, RemoteState: s.remoteState,
		LocalDiag: s.localDiag, RemoteDiag: s.remoteDiag,
		LocalDiscr: s.localDiscr, RemoteDiscr: s.remoteDiscr,
		TxInterval: s.txInterval(), Polling: s.polling,
	}
	if s.remoteDetectMult != 0 {
		st.DetectionTime = s.detectionTime()
	}
	return st
}

// NextDeadline is when Tick must next be called: the earlier of the next
// transmission and the detection timeout.
func (s *Session) NextDeadline() time.Time {
	if s.detectAt.IsZero() || (!s.nextTx.IsZero() && s.nextTx.Before(s.detectAt)) {
		return s.nextTx
	}
	return s.detectAt
}

// txInterval is max(bfd.DesiredMinTxInterval, bfd.RemoteMinRxInterval)
// with the values in force (§6.8.2, §6.8.7).
func (s *Session) txInterval() time.Duration { return max(s.txInUse, s.remoteMinRx) }

// detectionTime is the asynchronous-mode detection time of §6.8.4.
func (s *Session) detectionTime() time.Duration {
	return time.Duration(s.remoteDetectMult) * max(s.rxInUse, s.remoteDesiredTx)
}

// jittered applies §6.8.7: 75-100% of the interval, or 75-90% when the
// local detect multiplier is 1.
func (s *Session) jittered(d time.Duration) time.Duration {
	span := 0.25
	if s.prof.DetectMultiplier == 1 {
		span = 0.15
	}
	return time.Duration(float64(d) * (0.75 + span*s.jitter()))
}

// mayTransmit is §6.8.7's rules for periodic packets: never before a
// passive session has heard the peer, not when the peer asks for no
// packets (RequiredMinRx 0), not while the peer's Demand mode is active.
func (s *Session) mayTransmit() bool {
	switch {
	case s.prof.PassiveMode && s.remoteDiscr == 0:
		return false
	case s.remoteMinRx == 0:
		return false
	case s.remoteDemand && s.state == Up && s.remoteState == Up:
		return false
	}
	return true
}

// Packet is the control packet the session sends now (§6.8.7), with the
// P bit while a Poll Sequence runs.
func (s *Session) Packet() Packet {
	return Packet{
		Diag:          s.localDiag,
		State:         s.state,
		Poll:          s.polling,
		DetectMult:    s.prof.DetectMultiplier,
		MyDiscr:       s.localDiscr,
		YourDiscr:     s.remoteDiscr,
		DesiredMinTx:  micros(s.desiredTx),
		RequiredMinRx: micros(s.requiredRx),
		// RequiredMinEchoRx 0: this system does not loop echo packets.
	}
}

func micros(d time.Duration) uint32 { return uint32(d / time.Microsecond) }

// Tick handles the timers due at now: the detection timeout (§6.8.4:
// the session goes Down with diagnostic 1 from Init or Up, and the remote
// discriminator is forgotten, §6.8.1) and the periodic transmission.
func (s *Session) Tick(now time.Time) Result {
	var r Result
	if !s.detectAt.IsZero() && !now.Before(s.detectAt) {
		s.detectAt = time.Time{}
		s.remoteDiscr = 0
		s.remoteState = Down
		s.remoteDemand = false
		s.remoteMinRx = time.Microsecond
		if s.state == Init || s.state == Up {
			s.setState(&r, Down, DiagControlDetectionExpired)
		}
	}
	if !s.nextTx.IsZero() && !now.Before(s.nextTx) {
		if s.mayTransmit() {
			r.Send, r.Packet = true, s.Packet()
		}
		s.nextTx = now.Add(s.jittered(s.txInterval()))
	}
	return r
}

// Receive handles a decoded packet addressed to this session: the
// session part of §6.8.6. A packet with the P bit is answered at once
// with the F bit (Result.Send).
func (s *Session) Receive(p Packet, now time.Time) (Result, error) {
	var r Result
	if p.Auth != nil {
		return r, ErrAuthNotInUse
	}
	before := s.txInterval()
	s.remoteDiscr = p.MyDiscr
	s.remoteState = p.State
	s.remoteDiag = p.Diag
	s.remoteDemand = p.Demand
	s.remoteMinRx = time.Duration(p.RequiredMinRx) * time.Microsecond
	s.remoteDesiredTx = time.Duration(p.DesiredMinTx) * time.Microsecond
	s.remoteDetectMult = p.DetectMult
	if p.Final && s.polling {
		s.polling = false
		s.txInUse, s.rxInUse = s.desiredTx, s.requiredRx
	}
	if s.state == AdminDown {
		return r, ErrLocalAdminDown
	}
	if p.State == AdminDown {
		if s.state != Down {
			s.setState(&r, Down, DiagNeighborDown)
		}
	} else {
		switch s.state {
		case Down:
			switch p.State {
			case Down:
				s.setState(&r, Init, s.localDiag)
			case Init:
				s.setState(&r, Up, DiagNone)
			}
		case Init:
			if p.State == Init || p.State == Up {
				s.setState(&r, Up, DiagNone)
			}
		case Up:
			if p.State == Down {
				s.setState(&r, Down, DiagNeighborDown)
			}
		}
	}
	s.detectAt = now.Add(s.detectionTime())
	if p.Poll {
		r.Send, r.Packet = true, s.Packet()
		r.Packet.Poll, r.Packet.Final = false, true
	}
	s.rescheduleIfFaster(before, now)
	return r, nil
}

// rescheduleIfFaster brings the next transmission forward when the
// interval shrank, so the peer's shorter detection time is honoured;
// the gap since the last packet is still at least one jittered interval.
func (s *Session) rescheduleIfFaster(before time.Duration, now time.Time) {
	if after := s.txInterval(); after < before {
		if next := now.Add(s.jittered(after)); next.Before(s.nextTx) {
			s.nextTx = next
		}
	}
}

// setState moves the session and applies the timer floor of §6.8.3:
// one second of desired TX while not Up, the profile's values once Up.
func (s *Session) setState(r *Result, to State, diag Diag) {
	from := s.state
	s.state, s.localDiag = to, diag
	if to != Up {
		s.polling = false
	}
	s.applyTimers(s.prof)
	r.Changed, r.Change = true, Change{From: from, To: to, Diag: diag}
}

// applyTimers sets the advertised intervals from p. While Up a change
// starts a Poll Sequence, and until its Final the faster transmit
// interval and the longer receive interval stay in force (§6.8.3).
func (s *Session) applyTimers(p Profile) {
	tx, rx := p.TransmitInterval, p.ReceiveInterval
	if s.state != Up {
		tx = max(tx, SlowTxInterval)
	}
	if s.state != Up {
		s.desiredTx, s.requiredRx = tx, rx
		s.txInUse, s.rxInUse = tx, rx
		return
	}
	if tx == s.desiredTx && rx == s.requiredRx {
		return
	}
	if !s.polling {
		s.txInUse, s.rxInUse = s.desiredTx, s.requiredRx
	}
	s.desiredTx, s.requiredRx = tx, rx
	s.txInUse = min(s.txInUse, tx)
	s.rxInUse = max(s.rxInUse, rx)
	s.polling = true
}

// SetProfile changes the session's settings. Interval changes while Up
// run a Poll Sequence: the next periodic packets carry the P bit until
// the peer answers with F; the session stays Up throughout.
func (s *Session) SetProfile(p Profile, now time.Time) {
	p = p.WithDefaults()
	before := s.txInterval()
	s.prof = p
	s.applyTimers(p)
	s.rescheduleIfFaster(before, now)
}

// AdminDown takes the session to AdminDown with diagnostic 7 (§6.8.16);
// it keeps sending AdminDown packets, so the peer goes Down with
// diagnostic 3 instead of waiting for its detection time.
func (s *Session) AdminDown(now time.Time) Result {
	var r Result
	if s.state != AdminDown {
		s.setState(&r, AdminDown, DiagAdminDown)
		s.detectAt = time.Time{}
	}
	return r
}

// Enable leaves AdminDown for Down (§6.8.16).
func (s *Session) Enable(now time.Time) Result {
	var r Result
	if s.state == AdminDown {
		s.setState(&r, Down, DiagNone)
		if s.nextTx.IsZero() || s.nextTx.After(now) {
			s.nextTx = now
		}
	}
	return r
}
