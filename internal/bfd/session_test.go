package bfd

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func fixedJitter(v float64) func() float64 { return func() float64 { return v } }

func fastProfile() Profile {
	return Profile{ReceiveInterval: 300 * time.Millisecond, TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 3}
}

// peerPacket is what a peer with discriminator 99 in state st sends.
func peerPacket(st State, your uint32) Packet {
	return Packet{State: st, DetectMult: 3, MyDiscr: 99, YourDiscr: your, DesiredMinTx: 300000, RequiredMinRx: 300000}
}

// sessionIn builds a session in state st, reached through the RFC's own
// transitions.
func sessionIn(t *testing.T, st State) *Session {
	t.Helper()
	s := NewSession(7, fastProfile(), t0, fixedJitter(0.5))
	switch st {
	case AdminDown:
		s.AdminDown(t0)
	case Init:
		mustReceive(t, s, peerPacket(Down, 0), t0)
	case Up:
		mustReceive(t, s, peerPacket(Init, 7), t0)
	}
	if s.State() != st {
		t.Fatalf("setup: state %v, want %v", s.State(), st)
	}
	return s
}

func mustReceive(t *testing.T, s *Session, p Packet, now time.Time) Result {
	t.Helper()
	r, err := s.Receive(p, now)
	if err != nil {
		t.Fatalf("receive %+v: %v", p, err)
	}
	return r
}

// TestReceiveTransitions walks the state table of RFC 5880 §6.8.6 for
// every local state and every received state.
func TestReceiveTransitions(t *testing.T) {
	cases := []struct {
		local, remote State
		want          State
		diag          Diag
		err           error
	}{
		{AdminDown, AdminDown, AdminDown, DiagAdminDown, ErrLocalAdminDown},
		{AdminDown, Down, AdminDown, DiagAdminDown, ErrLocalAdminDown},
		{AdminDown, Init, AdminDown, DiagAdminDown, ErrLocalAdminDown},
		{AdminDown, Up, AdminDown, DiagAdminDown, ErrLocalAdminDown},
		{Down, AdminDown, Down, DiagNone, nil},
		{Down, Down, Init, DiagNone, nil},
		{Down, Init, Up, DiagNone, nil},
		{Down, Up, Down, DiagNone, nil},
		{Init, AdminDown, Down, DiagNeighborDown, nil},
		{Init, Down, Init, DiagNone, nil},
		{Init, Init, Up, DiagNone, nil},
		{Init, Up, Up, DiagNone, nil},
		{Up, AdminDown, Down, DiagNeighborDown, nil},
		{Up, Down, Down, DiagNeighborDown, nil},
		{Up, Init, Up, DiagNone, nil},
		{Up, Up, Up, DiagNone, nil},
	}
	for _, c := range cases {
		s := sessionIn(t, c.local)
		your := uint32(7)
		if c.remote == Down || c.remote == AdminDown {
			your = 0
		}
		r, err := s.Receive(peerPacket(c.remote, your), t0.Add(time.Millisecond))
		if !errors.Is(err, c.err) {
			t.Errorf("%v + %v: error %v, want %v", c.local, c.remote, err, c.err)
		}
		if s.State() != c.want || s.Status().LocalDiag != c.diag {
			t.Errorf("%v + %v: %v/%v, want %v/%v", c.local, c.remote, s.State(), s.Status().LocalDiag, c.want, c.diag)
		}
		if changed := c.local != c.want; r.Changed != changed || (changed && (r.Change.From != c.local || r.Change.To != c.want)) {
			t.Errorf("%v + %v: result %+v", c.local, c.remote, r)
		}
		if c.err == nil && s.Status().RemoteDiscr != 99 {
			t.Errorf("%v + %v: remote discriminator %d not learnt", c.local, c.remote, s.Status().RemoteDiscr)
		}
	}
}

func TestDetectionTimeExpiry(t *testing.T) {
	for _, st := range []State{Init, Up} {
		s := sessionIn(t, st)
		// Remote: mult 3, desired TX 300ms; local RX 300ms: 900ms.
		if got := s.Status().DetectionTime; got != 900*time.Millisecond {
			t.Fatalf("%v: detection time %v", st, got)
		}
		if d := s.NextDeadline(); d.After(t0.Add(900 * time.Millisecond)) {
			t.Fatalf("%v: next deadline %v after the detection time", st, d.Sub(t0))
		}
		if r := s.Tick(t0.Add(899 * time.Millisecond)); r.Changed {
			t.Fatalf("%v: went down before the detection time: %+v", st, r)
		}
		r := s.Tick(t0.Add(900 * time.Millisecond))
		if !r.Changed || r.Change != (Change{From: st, To: Down, Diag: DiagControlDetectionExpired}) {
			t.Fatalf("%v: expiry result %+v", st, r)
		}
		if s.Status().RemoteDiscr != 0 {
			t.Errorf("%v: remote discriminator kept after expiry", st)
		}
		if p := s.Packet(); p.DesiredMinTx != 1_000_000 || p.Diag != DiagControlDetectionExpired || p.YourDiscr != 0 {
			t.Errorf("%v: packet after expiry %+v (want slow TX 1s, diag 1, your discr 0)", st, p)
		}
	}
	// Down stays Down but forgets the peer.
	s := NewSession(7, fastProfile(), t0, fixedJitter(0.5))
	s.prof.PassiveMode = false
	mustReceive(t, s, peerPacket(AdminDown, 0), t0)
	if r := s.Tick(t0.Add(time.Hour)); r.Changed || s.Status().RemoteDiscr != 0 {
		t.Errorf("Down expiry: %+v %+v", r, s.Status())
	}
}

func TestDetectionUsesSlowerOfLocalRxAndRemoteTx(t *testing.T) {
	s := sessionIn(t, Up)
	p := peerPacket(Up, 7)
	p.DetectMult, p.DesiredMinTx = 5, 500000
	mustReceive(t, s, p, t0)
	if got := s.Status().DetectionTime; got != 2500*time.Millisecond {
		t.Errorf("detection time %v, want 5 x 500ms", got)
	}
	p.DesiredMinTx = 100000 // faster than our 300ms RX: ours wins
	mustReceive(t, s, p, t0)
	if got := s.Status().DetectionTime; got != 1500*time.Millisecond {
		t.Errorf("detection time %v, want 5 x 300ms", got)
	}
}

func TestTransmitIntervalAndJitter(t *testing.T) {
	for _, c := range []struct {
		mult   uint8
		jitter float64
		want   time.Duration
	}{
		{3, 0, 225 * time.Millisecond},
		{3, 0.999999, 300 * time.Millisecond},
		{1, 0, 225 * time.Millisecond},
		{1, 0.999999, 270 * time.Millisecond}, // 90%
	} {
		p := fastProfile()
		p.DetectMultiplier = c.mult
		s := NewSession(7, p, t0, fixedJitter(c.jitter))
		mustReceive(t, s, peerPacket(Init, 7), t0)
		if s.State() != Up {
			t.Fatal("not up")
		}
		r := s.Tick(s.NextDeadline())
		if !r.Send {
			t.Fatal("no packet sent at the transmit deadline")
		}
		sent := s.NextDeadline()
		r = s.Tick(sent)
		if !r.Send {
			t.Fatal("no periodic packet")
		}
		if got := s.NextDeadline().Sub(sent); got < c.want-time.Millisecond || got > c.want {
			t.Errorf("mult %d jitter %v: interval %v, want %v", c.mult, c.jitter, got, c.want)
		}
	}
	// The remote's required RX wins when slower.
	s := sessionIn(t, Up)
	p := peerPacket(Up, 7)
	p.RequiredMinRx = 2_000_000
	mustReceive(t, s, p, t0)
	if got := s.Status().TxInterval; got != 2*time.Second {
		t.Errorf("tx interval %v, want the remote's 2s", got)
	}
}

func TestSlowTransmitUntilUp(t *testing.T) {
	s := NewSession(7, fastProfile(), t0, fixedJitter(0))
	r := s.Tick(t0)
	if !r.Send || r.Packet.DesiredMinTx != 1_000_000 || r.Packet.RequiredMinRx != 300000 || r.Packet.State != Down || r.Packet.YourDiscr != 0 {
		t.Fatalf("first packet %+v", r.Packet)
	}
	if got := s.NextDeadline().Sub(t0); got != 750*time.Millisecond {
		t.Errorf("next packet after %v, want 75%% of 1s", got)
	}
}

// TestPollSequenceOnUp: going Up changes DesiredMinTx from the slow 1s to
// the profile's value, which while Up needs a Poll Sequence (§6.8.3).
func TestPollSequenceOnUp(t *testing.T) {
	s := sessionIn(t, Up)
	if !s.Status().Polling {
		t.Fatal("no poll sequence after coming up")
	}
	if s.Status().TxInterval != 300*time.Millisecond {
		t.Errorf("a decrease of desired TX applies at once; interval %v", s.Status().TxInterval)
	}
	r := s.Tick(s.NextDeadline())
	if !r.Send || !r.Packet.Poll || r.Packet.Final || r.Packet.DesiredMinTx != 300000 {
		t.Fatalf("periodic packet while polling: %+v", r.Packet)
	}
	fin := peerPacket(Up, 7)
	fin.Final = true
	mustReceive(t, s, fin, t0.Add(100*time.Millisecond))
	if s.Status().Polling || s.Packet().Poll {
		t.Error("poll sequence did not end on Final")
	}
}

func TestAnswerPollWithFinal(t *testing.T) {
	s := sessionIn(t, Up)
	p := peerPacket(Up, 7)
	p.Poll = true
	r := mustReceive(t, s, p, t0)
	if !r.Send || !r.Packet.Final || r.Packet.Poll {
		t.Fatalf("reply to poll %+v", r)
	}
	if q := s.Packet(); q.Final {
		t.Error("F bit leaks into periodic packets")
	}
}

// TestTimerChangeWhileUp: a slower TX takes effect only after the Final;
// a shorter RX leaves the longer detection time in force until then.
func TestTimerChangeWhileUp(t *testing.T) {
	s := sessionIn(t, Up)
	fin := peerPacket(Up, 7)
	fin.Final = true
	mustReceive(t, s, fin, t0)
	p := fastProfile()
	p.TransmitInterval = 600 * time.Millisecond
	p.ReceiveInterval = 100 * time.Millisecond
	s.SetProfile(p, t0)
	st := s.Status()
	if !st.Polling || st.State != Up {
		t.Fatalf("after SetProfile: %+v", st)
	}
	if pk := s.Packet(); !pk.Poll || pk.DesiredMinTx != 600000 || pk.RequiredMinRx != 100000 {
		t.Errorf("advertised %+v", pk)
	}
	if st.TxInterval != 300*time.Millisecond {
		t.Errorf("tx interval %v changed before the Final", st.TxInterval)
	}
	if st.DetectionTime != 900*time.Millisecond {
		t.Errorf("detection time %v shrank before the Final", st.DetectionTime)
	}
	// A packet without F (the peer has not seen the poll yet) changes nothing.
	mustReceive(t, s, peerPacket(Up, 7), t0.Add(10*time.Millisecond))
	if !s.Status().Polling {
		t.Fatal("poll ended without Final")
	}
	fin.DesiredMinTx = 100000
	mustReceive(t, s, fin, t0.Add(20*time.Millisecond))
	st = s.Status()
	if st.Polling || st.TxInterval != 600*time.Millisecond || st.DetectionTime != 300*time.Millisecond || st.State != Up {
		t.Errorf("after Final: %+v", st)
	}
}

func TestPassiveWaitsForPeer(t *testing.T) {
	p := fastProfile()
	p.PassiveMode = true
	s := NewSession(7, p, t0, fixedJitter(0.5))
	now := t0
	for range 5 {
		if r := s.Tick(now); r.Send {
			t.Fatalf("passive session sent %+v before hearing the peer", r.Packet)
		}
		now = s.NextDeadline()
	}
	mustReceive(t, s, peerPacket(Down, 0), now)
	if r := s.Tick(s.NextDeadline()); !r.Send || r.Packet.State != Init || r.Packet.YourDiscr != 99 {
		t.Fatalf("passive session after hearing the peer: %+v", r)
	}
}

func TestNoPeriodicPackets(t *testing.T) {
	// The peer asks for none (RequiredMinRx 0).
	s := sessionIn(t, Up)
	p := peerPacket(Up, 7)
	p.RequiredMinRx = 0
	mustReceive(t, s, p, t0)
	if r := s.Tick(s.NextDeadline()); r.Send {
		t.Error("sent although the peer's RequiredMinRx is 0")
	}
	// The peer is in Demand mode and both are Up.
	s = sessionIn(t, Up)
	p = peerPacket(Up, 7)
	p.Demand = true
	mustReceive(t, s, p, t0)
	if r := s.Tick(s.NextDeadline()); r.Send {
		t.Error("sent periodic packets while the peer's Demand mode is active")
	}
	p.Poll = true
	if r := mustReceive(t, s, p, t0); !r.Send || !r.Packet.Final {
		t.Error("a poll must be answered even in Demand mode")
	}
	if s.Packet().Demand {
		t.Error("this side never asks for Demand mode")
	}
}

func TestAuthenticatedPacketRefused(t *testing.T) {
	s := sessionIn(t, Down)
	p := peerPacket(Down, 0)
	p.Auth = &Auth{Type: AuthSimplePassword, KeyID: 1, Value: []byte("x")}
	if _, err := s.Receive(p, t0); !errors.Is(err, ErrAuthNotInUse) || s.State() != Down || s.Status().RemoteDiscr != 0 {
		t.Errorf("authenticated packet: %v, %+v", err, s.Status())
	}
}

func TestAdminDownAndEnable(t *testing.T) {
	s := sessionIn(t, Up)
	r := s.AdminDown(t0)
	if !r.Changed || r.Change != (Change{From: Up, To: AdminDown, Diag: DiagAdminDown}) {
		t.Fatalf("admin down: %+v", r)
	}
	if p := s.Packet(); p.State != AdminDown || p.Diag != DiagAdminDown || p.Poll {
		t.Errorf("admin down packet %+v", p)
	}
	if r := s.Tick(t0.Add(time.Hour)); r.Changed {
		t.Error("detection timer runs in AdminDown")
	}
	later := t0.Add(2 * time.Hour)
	r = s.Enable(later)
	if !r.Changed || r.Change != (Change{From: AdminDown, To: Down, Diag: DiagNone}) || s.NextDeadline().After(later) {
		t.Fatalf("enable: %+v, next deadline %v", r, s.NextDeadline().Sub(later))
	}
	if r := s.Tick(later); !r.Send || r.Packet.State != Down || r.Packet.DesiredMinTx != 1_000_000 {
		t.Errorf("first packet after enable: %+v", r)
	}
}

// TestHandshakeBetweenTwoSessions runs two sessions against each other
// through the codec with a simulated clock: both come Up, finish their
// polls, and when the wire is cut both go Down within one detection time.
func TestHandshakeBetweenTwoSessions(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a := NewSession(1, fastProfile(), t0, rng.Float64)
	b := NewSession(2, fastProfile(), t0.Add(123*time.Millisecond), rng.Float64)
	now, cut := t0, false
	var downAt [2]time.Time
	lastRx := [2]time.Time{}
	deliver := func(from int, r Result, to *Session) {
		if r.Changed && r.Change.To == Down {
			downAt[from] = now
		}
		if !r.Send || cut {
			return
		}
		p, err := Decode(Encode(&r.Packet))
		if err != nil {
			t.Fatal(err)
		}
		lastRx[1-from] = now
		back, err := to.Receive(p, now)
		if err != nil {
			t.Fatal(err)
		}
		if back.Changed && back.Change.To == Down {
			downAt[1-from] = now
		}
		if back.Send {
			q, _ := Decode(Encode(&back.Packet))
			lastRx[from] = now
			if _, err := map[int]*Session{0: a, 1: b}[from].Receive(q, now); err != nil {
				t.Fatal(err)
			}
		}
	}
	step := func() {
		da, db := a.NextDeadline(), b.NextDeadline()
		if da.Before(db) {
			now = da
			deliver(0, a.Tick(now), b)
		} else {
			now = db
			deliver(1, b.Tick(now), a)
		}
	}
	for now.Before(t0.Add(10 * time.Second)) {
		step()
	}
	if a.State() != Up || b.State() != Up || a.Status().Polling || b.Status().Polling {
		t.Fatalf("after 10s: a %+v, b %+v", a.Status(), b.Status())
	}
	if a.Status().TxInterval != 300*time.Millisecond {
		t.Errorf("tx interval %v", a.Status().TxInterval)
	}
	cut = true
	cutAt := now
	for now.Before(cutAt.Add(5 * time.Second)) {
		step()
	}
	for i, s := range []*Session{a, b} {
		if s.State() != Down || s.Status().LocalDiag != DiagControlDetectionExpired {
			t.Errorf("session %d after the cut: %+v", i, s.Status())
		}
		if d := downAt[i].Sub(lastRx[i]); d != 900*time.Millisecond {
			t.Errorf("session %d went down %v after its last packet, want the 900ms detection time", i, d)
		}
	}
}

// BenchmarkReceiveAndTick is the per-packet cost of the state machine:
// one received packet and one transmission.
func BenchmarkReceiveAndTick(b *testing.B) {
	s := NewSession(7, fastProfile(), t0, fixedJitter(0.5))
	p := peerPacket(Up, 7)
	now := t0
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(100 * time.Millisecond)
		if _, err := s.Receive(p, now); err != nil {
			b.Fatal(err)
		}
		s.Tick(s.NextDeadline())
	}
}
