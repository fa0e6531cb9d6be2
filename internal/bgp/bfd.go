package bgp

// BFD beside BGP sessions (Peer.BFD). A session with a BFD profile gets a
// BFD session (internal/bfd/bfdnet) from the BGP session's source address,
// or the address the kernel would pick for the peer, to the peer's
// address: single-hop, or multi-hop with EBGPMultiHop. When BFD leaves Up
// the BGP session is disabled at once (a Cease, the FSM held in Idle), so
// the speaker stops using a path the router can no longer reach; the
// router, running BFD too, withdraws our routes on its own detection. When
// BFD is Up again the session is enabled and re-establishes.
//
// A peer that takes its BFD session administratively down (AdminDown, say
// BFD was removed from its configuration) is not a path failure and leaves
// the BGP session alone (RFC 5882 §3.2).

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/go-logr/logr"
	api "github.com/osrg/gobgp/v3/api"

	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/internal/bfd/bfdnet"
	"github.com/barelb/barelb/internal/bgpmodel"
)

// bfdRetry is the wait before a BFD session that could not be started
// (no local address on the peer's path yet, a socket error) is tried again.
const bfdRetry = time.Second

// bfdLink runs the Server's BFD sessions and routes their state changes to
// the BGP sessions using them. Sessions sharing a BFD key (same addresses)
// share one BFD session; the last profile given wins.
type bfdLink struct {
	log logr.Logger
	m   *bfdnet.Manager

	mu    sync.Mutex
	users map[bfdnet.Key][]*session
}

// newBFDLink creates the Manager; it opens no socket and starts no
// goroutine until the first session is added.
func newBFDLink(log logr.Logger) *bfdLink {
	l := &bfdLink{log: log, users: map[bfdnet.Key][]*session{}}
	l.m = bfdnet.New(bfdnet.Options{OnChange: l.onChange})
	return l
}

// bfdProfile is the bfd package's form of a model profile.
func bfdProfile(p bgpmodel.BFDProfile) bfd.Profile {
	return bfd.Profile{
		ReceiveInterval:  p.ReceiveInterval,
		TransmitInterval: p.TransmitInterval,
		DetectMultiplier: p.DetectMultiplier,
		MinimumTTL:       p.MinimumTTL,
		PassiveMode:      p.PassiveMode,
	}
}

// localAddrFor is the address the kernel would send from towards remote:
// connecting a UDP socket picks the route and source without sending.
func localAddrFor(remote netip.Addr) (netip.Addr, error) {
	c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(netip.AddrPortFrom(remote, bfdnet.SingleHopPort)))
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap(), nil
}

// attach starts ss's BFD session, retrying in the background until it
// runs or ss stops. ss.bfdProf must be set.
func (l *bfdLink) attach(ss *session) {
	ss.bfdMu.Lock()
	defer ss.bfdMu.Unlock()
	if ss.bfdClosed || ss.bfdKey != nil || !ss.bfdProf.Enabled() {
		return
	}
	local := ss.cfg.sourceAddr
	var err error
	if !local.IsValid() {
		local, err = localAddrFor(ss.cfg.peerAddr)
	}
	cfg := bfdnet.Config{Local: local, Remote: ss.cfg.peerAddr, MultiHop: ss.cfg.EBGPMultiHop, Profile: bfdProfile(ss.bfdProf)}
	if ss.cfg.Interface != "" {
		// Unnumbered: link-local on both ends, so the BFD socket is bound
		// to the interface and the zone moves into Config.Interface.
		cfg.Remote, cfg.Interface = ss.cfg.peerAddr.WithZone(""), ss.cfg.Interface
	}
	if err == nil {
		err = l.add(ss, cfg)
	}
	if err != nil {
		if ss.bfdErr == "" {
			l.log.Info("BFD session not started, retrying", "peer", ss.cfg.Name, "error", err.Error())
		}
		ss.bfdErr = err.Error()
		ss.bfdRetry = time.AfterFunc(bfdRetry, func() { l.attach(ss) })
		return
	}
	k := cfg.Key()
	ss.bfdKey, ss.bfdErr = &k, ""
	l.log.Info("BFD session started", "peer", ss.cfg.Name, "bfd", k.String())
}

func (l *bfdLink) add(ss *session, cfg bfdnet.Config) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.m.Add(cfg); err != nil {
		return err
	}
	if k := cfg.Key(); !slices.Contains(l.users[k], ss) {
		l.users[k] = append(l.users[k], ss)
	}
	return nil
}

// detach stops ss's BFD session (the last user's removal sends AdminDown)
// and any retry. With closing, ss never starts one again.
func (l *bfdLink) detach(ss *session, closing bool) {
	ss.stopBFDGrace()
	ss.bfdMu.Lock()
	if ss.bfdRetry != nil {
		ss.bfdRetry.Stop()
		ss.bfdRetry = nil
	}
	k := ss.bfdKey
	ss.bfdKey, ss.bfdErr = nil, ""
	ss.bfdClosed = ss.bfdClosed || closing
	ss.bfdMu.Unlock()
	if k == nil {
		return
	}
	l.mu.Lock()
	users := slices.DeleteFunc(l.users[*k], func(o *session) bool { return o == ss })
	last := len(users) == 0
	if last {
		delete(l.users, *k)
	} else {
		l.users[*k] = users
	}
	l.mu.Unlock()
	// Remove waits for the BFD session's goroutine, which may be waiting
	// for l.mu in onChange: never call it with l.mu held.
	if last {
		l.m.Remove(*k)
	}
}

// reconfigure applies a changed BFD profile to a running BGP session:
// timers change in place (a Poll Sequence, the session stays Up); BFD
// added or removed starts or stops the BFD session.
func (l *bfdLink) reconfigure(ss *session, p bgpmodel.BFDProfile) {
	ss.bfdMu.Lock()
	old := ss.bfdProf
	ss.bfdProf = p
	ss.bfdMu.Unlock()
	switch {
	case old == p:
	case !p.Enabled():
		l.detach(ss, false)
		ss.setBFDHold(false, "")
	case !old.Enabled():
		l.attach(ss)
	default:
		ss.bfdMu.Lock()
		k := ss.bfdKey
		ss.bfdMu.Unlock()
		if k != nil {
			l.mu.Lock()
			err := l.m.Add(bfdnet.Config{Local: k.Local, Remote: k.Remote, Interface: k.Interface, MultiHop: k.MultiHop, Profile: bfdProfile(p)})
			l.mu.Unlock()
			if err != nil {
				l.log.Error(err, "changing BFD timers", "peer", ss.cfg.Name)
			}
		}
	}
}

// onChange is bfdnet's callback: it must not block, and the GoBGP calls
// it leads to run in their own goroutine.
func (l *bfdLink) onChange(e bfdnet.Event) {
	l.mu.Lock()
	users := slices.Clone(l.users[e.Key])
	l.mu.Unlock()
	// The session's goroutine is in this call, so its status is still the
	// one right after the change: the state the peer signalled.
	var remote bfd.State
	if st, ok := l.m.Session(e.Key); ok {
		remote = st.Status.RemoteState
	}
	for _, ss := range users {
		switch {
		case e.To == bfd.Up:
			l.log.Info("BFD session up", "peer", ss.cfg.Name, "bfd", e.Key.String())
			ss.stopBFDGrace()
			ss.setBFDHold(false, "")
		case e.From != bfd.Up:
		case e.Diag == bfd.DiagNeighborDown && remote == bfd.AdminDown:
			l.log.Info("BFD session taken down by the peer administratively; BGP session left up",
				"peer", ss.cfg.Name, "bfd", e.Key.String(), "remoteDiagnostic", e.RemoteDiag.String())
		case e.Diag == bfd.DiagNeighborDown:
			l.graceThenHold(ss, e, remote)
		default:
			l.hold(ss, e, remote)
		}
	}
}

// hold disables ss's BGP session for BFD going down with e.
func (l *bfdLink) hold(ss *session, e bfdnet.Event, remote bfd.State) {
	why := fmt.Sprintf("BFD session down (%s); BGP session held down until BFD is up again", e.Diag)
	l.log.Info("BFD session down, disabling BGP session", "peer", ss.cfg.Name, "bfd", e.Key.String(),
		"diagnostic", e.Diag.String(), "remoteState", remote.String(), "remoteDiagnostic", e.RemoteDiag.String())
	ss.setBFDHold(true, why)
}

// graceThenHold holds ss's BGP session down for a BFD Down the peer
// signalled only if BFD is not Up again within three detection times. FRR's
// bfdd restarts its session when bgpd registers it anew, which bgpd does
// once the BGP session is up: the session signals Down once and is Up
// again one to two seconds later, and holding BGP down for it would flap
// the new session (FRR's bgpd sometimes flaps it itself, which this cannot
// help). A peer that really lost our packets acts on its own
// detection (the router withdraws our routes itself), so waiting costs
// nothing there; a detection timeout on our side still holds at once.
func (l *bfdLink) graceThenHold(ss *session, e bfdnet.Event, remote bfd.State) {
	ss.bfdMu.Lock()
	defer ss.bfdMu.Unlock()
	if ss.bfdGrace != nil {
		return
	}
	p := bfdProfile(ss.bfdProf).WithDefaults()
	grace := 3 * time.Duration(p.DetectMultiplier) * max(p.ReceiveInterval, p.TransmitInterval)
	l.log.Info("BFD session down as the peer signalled; BGP session held down unless BFD is up again within the grace",
		"peer", ss.cfg.Name, "bfd", e.Key.String(), "grace", grace)
	ss.bfdGrace = time.AfterFunc(grace, func() {
		ss.bfdMu.Lock()
		ss.bfdGrace = nil
		ss.bfdMu.Unlock()
		if st, ok := l.m.Session(e.Key); ok && st.Status.State == bfd.Up {
			return
		}
		l.hold(ss, e, remote)
	})
}

// stopBFDGrace cancels a pending graceThenHold.
func (s *session) stopBFDGrace() {
	s.bfdMu.Lock()
	defer s.bfdMu.Unlock()
	if s.bfdGrace != nil {
		s.bfdGrace.Stop()
		s.bfdGrace = nil
	}
}

// state is ss's BFD state and diagnostic for PeerState.
func (l *bfdLink) state(ss *session) (state, diag string) {
	ss.bfdMu.Lock()
	enabled, k, startErr := ss.bfdProf.Enabled(), ss.bfdKey, ss.bfdErr
	ss.bfdMu.Unlock()
	switch {
	case !enabled:
		return "", ""
	case k == nil:
		return BFDDown, "not started: " + startErr
	}
	st, ok := l.m.Session(*k)
	if !ok {
		return BFDDown, "not started"
	}
	if st.Status.State == bfd.Up {
		state = BFDUp
	} else {
		state = BFDDown
	}
	if st.Status.LocalDiag != bfd.DiagNone {
		diag = st.Status.LocalDiag.String()
	}
	return state, diag
}

// setASNHold records whether the dynamic ASN check holds the session
// down and applies it.
func (s *session) setASNHold(hold bool) {
	s.bfdMu.Lock()
	s.asnHold = hold
	s.bfdMu.Unlock()
	go s.syncAdmin()
}

// setBFDHold records whether BFD holds the BGP session down and applies
// it. why becomes the session's LastError.
func (s *session) setBFDHold(hold bool, why string) {
	s.bfdMu.Lock()
	changed := s.bfdHold != hold
	s.bfdHold = hold
	s.bfdMu.Unlock()
	if hold && why != "" {
		s.log.setError(why)
	}
	if changed {
		go s.syncAdmin()
	}
}

// syncAdmin makes GoBGP's administrative state of the neighbor match what
// BFD and the dynamic ASN check want. It is level-based, so calls racing
// each other end in the latest wanted state.
func (s *session) syncAdmin() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	// The instance may serve another session once this one is stopped.
	if s.stopped {
		return
	}
	s.bfdMu.Lock()
	bfdHold, asnHold := s.bfdHold, s.asnHold
	s.bfdMu.Unlock()
	want := bfdHold || asnHold
	if want == s.adminDown {
		return
	}
	addr := s.cfg.peerAddr.String()
	var err error
	if want {
		msg := "barelb: BFD session down"
		if asnHold {
			msg = "barelb: unexpected peer AS for dynamicASN " + string(s.cfg.DynamicASN)
		}
		err = s.inst.srv.DisablePeer(ctx, &api.DisablePeerRequest{Address: addr, Communication: msg})
	} else {
		err = s.readd(ctx)
	}
	if err != nil {
		s.log.setError(fmt.Sprintf("changing the session's administrative state: %v", err))
		return
	}
	s.adminDown = want
}

// readd brings a held-down neighbor back as a new one. EnablePeer would
// keep GoBGP's FSM, which waits its idle hold after a reset
// (IdleHoldTimeAfterReset, the connect time) before it even starts its
// 1-2 s connect jitter: 6-7 s after BFD came back with a 5 s connect
// time. The path is known good again, so a fresh neighbor (no idle hold)
// connects after the jitter alone. The announced paths are the
// instance's global table and go to the new neighbor as to the old.
func (s *session) readd(ctx context.Context) error {
	if err := s.inst.srv.DeletePeer(ctx, &api.DeletePeerRequest{Address: s.cfg.peerAddr.String()}); err != nil {
		return err
	}
	return s.inst.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(&s.cfg)})
}
