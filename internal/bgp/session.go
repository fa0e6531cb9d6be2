package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/barelb/barelb/internal/bfd/bfdnet"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/go-logr/logr"
	api "github.com/osrg/gobgp/v3/api"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/server"
)

// A session is one peer's BGP session, run by its own GoBGP instance.
//
// One instance per peer, rather than one per speaker, is what lets each
// peer have its own router ID and local AS, and its own attributes for the
// same prefix (communities, LOCAL_PREF): a GoBGP instance has one global
// RIB, so the routes a session announces are exactly that instance's RIB,
// and adding or withdrawing a path on one peer cannot disturb another.
// Instances never listen (ListenPort -1): the speaker always connects
// out, so many instances coexist without fighting over port 179.
type session struct {
	cfg  sessionConfig
	inst *instance
	log  *gobgpLogger

	routes routeTable                 // announced: what this instance's RIB holds
	paths  map[netip.Prefix]*api.Path // the exact paths added, for DeletePath

	stopWatch context.CancelFunc
	// mu serialises GoBGP neighbor calls made outside SetPeers against
	// stop: the instance may serve another session once this one stopped.
	mu        sync.Mutex
	reenable  *time.Timer // ends the hold of a dynamic ASN mismatch
	stopped   bool
	adminDown bool          // the neighbor is disabled (DisablePeer) by syncAdmin
	raStop    chan struct{} // ends the Router Advertisements of an unnumbered peer
	// resolvedAt is when an unnumbered peer's neighbour was last looked
	// for (Server.recheckNeighbor); guarded by Server.mu.
	resolvedAt time.Time

	bfd   *bfdLink
	bfdMu sync.Mutex // guards the fields below; never held across a call out
	// asnHold and bfdHold keep the neighbor disabled: a dynamic ASN
	// mismatch waiting for its retry, BFD down after it was up.
	asnHold, bfdHold bool
	bfdProf          bgpmodel.BFDProfile // the profile in use (Peer.BFD)
	bfdKey           *bfdnet.Key         // the running BFD session, if any
	bfdErr           string              // why it is not running yet
	bfdRetry         *time.Timer
	bfdClosed        bool // detached for good: never start BFD again
	// bfdGrace, while set, waits to hold the neighbor down for a BFD Down
	// the peer signalled (see bfdLink.onChange).
	bfdGrace *time.Timer
}

// instance is a GoBGP server plus a logger that can be pointed at the
// session currently using it. GoBGP's Serve loop has no way to end, so a
// stopped instance is kept for the next session instead of leaking a
// goroutine per peer change.
type instance struct {
	srv *server.BgpServer
	log atomic.Pointer[gobgpLogger]
}

func newInstance() *instance {
	in := &instance{}
	in.srv = server.NewBgpServer(server.LoggerOption(instanceLogger{in}))
	go in.srv.Serve()
	return in
}

// instanceLogger forwards to the session's logger, or drops messages
// while the instance is idle.
type instanceLogger struct{ in *instance }

func (l instanceLogger) get() gobgplog.Logger {
	if g := l.in.log.Load(); g != nil {
		return g
	}
	return discard{}
}
func (l instanceLogger) Panic(m string, f gobgplog.Fields) { l.get().Panic(m, f) }
func (l instanceLogger) Fatal(m string, f gobgplog.Fields) { l.get().Fatal(m, f) }
func (l instanceLogger) Error(m string, f gobgplog.Fields) { l.get().Error(m, f) }
func (l instanceLogger) Warn(m string, f gobgplog.Fields)  { l.get().Warn(m, f) }
func (l instanceLogger) Info(m string, f gobgplog.Fields)  { l.get().Info(m, f) }
func (l instanceLogger) Debug(m string, f gobgplog.Fields) { l.get().Debug(m, f) }
func (l instanceLogger) SetLevel(gobgplog.LogLevel)        {}
func (l instanceLogger) GetLevel() gobgplog.LogLevel       { return gobgplog.DebugLevel }

type discard struct{}

func (discard) Panic(m string, _ gobgplog.Fields) { panic(m) }
func (discard) Fatal(string, gobgplog.Fields)     {}
func (discard) Error(string, gobgplog.Fields)     {}
func (discard) Warn(string, gobgplog.Fields)      {}
func (discard) Info(string, gobgplog.Fields)      {}
func (discard) Debug(string, gobgplog.Fields)     {}
func (discard) SetLevel(gobgplog.LogLevel)        {}
func (discard) GetLevel() gobgplog.LogLevel       { return gobgplog.InfoLevel }

// startSession configures inst for cfg, installs routes, then adds the
// neighbor, so the first UPDATEs after OPEN already carry the full table
// (and, with graceful restart, End-of-RIB follows a complete table).
func startSession(ctx context.Context, inst *instance, cfg sessionConfig, routes routeTable, log logr.Logger, bfdl *bfdLink) (*session, error) {
	s := &session{
		cfg:     cfg,
		inst:    inst,
		bfd:     bfdl,
		bfdProf: cfg.BFD,
		log:     newGobgpLogger(log.WithName("gobgp").WithValues("peer", cfg.Name, "address", cfg.addrPort().String()), cfg.Password),
		routes:  routeTable{},
		paths:   map[netip.Prefix]*api.Path{},

		resolvedAt: time.Now(),
	}
	inst.log.Store(s.log)
	err := inst.srv.StartBgp(ctx, &api.StartBgpRequest{Global: &api.Global{
		Asn:        cfg.MyASN,
		RouterId:   cfg.routerID.String(),
		ListenPort: -1,
	}})
	if err != nil {
		inst.log.Store(nil)
		return nil, fmt.Errorf("start GoBGP instance: %w", err)
	}
	wctx, cancel := context.WithCancel(context.Background())
	s.stopWatch = cancel
	if err := inst.srv.WatchEvent(wctx, &api.WatchEventRequest{Peer: &api.WatchEventRequest_Peer{}}, s.onEvent); err != nil {
		s.stop(ctx)
		return nil, fmt.Errorf("watch GoBGP peer events: %w", err)
	}
	if err := s.apply(ctx, routes); err != nil {
		s.stop(ctx)
		return nil, err
	}
	if err := inst.srv.AddPeer(ctx, &api.AddPeerRequest{Peer: apiPeer(&cfg)}); err != nil {
		s.stop(ctx)
		return nil, fmt.Errorf("add neighbor: %w", err)
	}
	if cfg.Interface != "" {
		s.raStop = make(chan struct{})
		go advertiseLinkLocal(cfg.Interface, s.raStop, func(err error) { s.log.Warn(err.Error(), nil) })
	}
	return s, nil
}

// apply turns the announced table into want. New and changed prefixes go
// first and withdrawals last, so a prefix that is replaced by another
// (say an aggregate by a longer one) never leaves a gap.
func (s *session) apply(ctx context.Context, want routeTable) error {
	announce, withdraw := diffRoutes(s.routes, want)
	var errs []error
	for _, p := range announce {
		path, err := apiPath(&s.cfg, p, want[p])
		if err == nil {
			_, err = s.inst.srv.AddPath(ctx, &api.AddPathRequest{Path: path})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("announce %s to %s: %w", p, s.cfg.Name, err))
			continue
		}
		s.routes[p], s.paths[p] = want[p], path
	}
	for _, p := range withdraw {
		if err := s.inst.srv.DeletePath(ctx, &api.DeletePathRequest{Family: s.paths[p].Family, Path: s.paths[p]}); err != nil {
			errs = append(errs, fmt.Errorf("withdraw %s from %s: %w", p, s.cfg.Name, err))
			continue
		}
		delete(s.routes, p)
		delete(s.paths, p)
	}
	return errors.Join(errs...)
}

// onEvent enforces DynamicASN: GoBGP accepts any AS when none is
// configured, so a peer of the wrong kind is disabled here with an
// explanation, and retried later in case the peer's AS gets fixed.
func (s *session) onEvent(ev *api.WatchEventResponse) {
	pe := ev.GetPeer()
	if pe == nil || pe.Type != api.WatchEventResponse_PeerEvent_STATE || s.cfg.DynamicASN == bgpmodel.DynamicASNNone {
		return
	}
	st := pe.GetPeer().GetState()
	if st.GetSessionState() != api.PeerState_ESTABLISHED {
		return
	}
	asn := st.GetPeerAsn()
	if (asn == s.cfg.MyASN) == s.cfg.internal {
		return
	}
	msg := fmt.Sprintf("dynamicASN %s, but the peer announced AS %d (local AS %d); session disabled", s.cfg.DynamicASN, asn, s.cfg.MyASN)
	s.log.setError(msg)
	retry := max(time.Duration(s.cfg.connectSec)*time.Second, 30*time.Second)
	s.setASNHold(true)
	// Not here: GoBGP calls this from its watch goroutine, and s.mu may
	// be held by a GoBGP call.
	go func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stopped {
			return
		}
		if s.reenable != nil {
			s.reenable.Stop()
		}
		s.reenable = time.AfterFunc(retry, func() { s.setASNHold(false) })
	}()
}

// peer returns GoBGP's view of the neighbor, or nil if it has none.
func (s *session) peer(ctx context.Context, advertised bool) *api.Peer {
	var out *api.Peer
	_ = s.inst.srv.ListPeer(ctx, &api.ListPeerRequest{Address: s.cfg.peerAddr.String(), EnableAdvertised: advertised}, func(p *api.Peer) { out = p })
	return out
}

// state is the session's PeerState.
func (s *session) state(ctx context.Context) PeerState {
	ps := PeerState{Name: s.cfg.Name, Address: s.cfg.addrPort(), Interface: s.cfg.Interface, State: StateIdle, PeerASN: s.cfg.PeerASN, LastError: s.log.lastErr()}
	if s.bfd != nil {
		ps.BFD, ps.BFDDiag = s.bfd.state(s)
	}
	p := s.peer(ctx, false)
	if p == nil {
		return ps
	}
	if p.GetState().GetSessionState() == api.PeerState_ESTABLISHED {
		// Counting advertised paths runs GoBGP's export logic, which
		// needs the negotiated peer type: only ask on a live session.
		if pa := s.peer(ctx, true); pa != nil {
			p = pa
		}
	}
	ps.State = sessionState(p.GetState().GetSessionState())
	if asn := p.GetState().GetPeerAsn(); asn != 0 {
		ps.PeerASN = asn
	}
	ts := p.GetTimers().GetState()
	if ps.State == StateEstablished {
		if u := ts.GetUptime(); u != nil {
			ps.Since = u.AsTime()
		}
		for _, a := range p.GetAfiSafis() {
			ps.Advertised += int(a.GetState().GetAdvertised())
		}
	} else if d := ts.GetDowntime(); d != nil && d.GetSeconds() > 0 {
		ps.Since = d.AsTime()
	}
	return ps
}

// gracefulRestartNegotiated reports whether the peer advertised the
// graceful restart capability on the current session and we did too, so
// it will keep our routes as stale when the session drops without a Hard
// Reset.
func (s *session) gracefulRestartNegotiated(p *api.Peer) bool {
	if !s.cfg.GracefulRestart || p.GetState().GetSessionState() != api.PeerState_ESTABLISHED {
		return false
	}
	for _, c := range p.GetState().GetRemoteCap() {
		if c.MessageIs(&api.GracefulRestartCapability{}) {
			return true
		}
	}
	return false
}

// withdrawAll withdraws every path and waits, at most until ctx is done
// or a second has passed, for the UPDATEs to be written to the socket, so
// that the Cease that follows does not overtake them.
func (s *session) withdrawAll(ctx context.Context) error {
	before := s.peer(ctx, false)
	had := len(s.routes)
	err := s.apply(ctx, routeTable{})
	if had == 0 || len(s.paths) > 0 || before.GetState().GetSessionState() != api.PeerState_ESTABLISHED {
		return err
	}
	sent0 := before.GetState().GetMessages().GetSent().GetUpdate()
	deadline := time.Now().Add(time.Second)
	last, stable := sent0, 0
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
		p := s.peer(ctx, false)
		if p.GetState().GetSessionState() != api.PeerState_ESTABLISHED {
			break
		}
		n := p.GetState().GetMessages().GetSent().GetUpdate()
		if n == last && n > sent0 {
			if stable++; stable >= 2 {
				break
			}
		} else {
			stable = 0
		}
		last = n
	}
	return err
}

// stop ends the session with a Cease NOTIFICATION (the router drops our
// routes) and leaves the instance idle for reuse.
func (s *session) stop(ctx context.Context) {
	s.mu.Lock()
	s.stopped = true
	if s.reenable != nil {
		s.reenable.Stop()
	}
	if s.raStop != nil {
		close(s.raStop)
		s.raStop = nil
	}
	s.mu.Unlock()
	if s.stopWatch != nil {
		s.stopWatch()
	}
	_ = s.inst.srv.StopBgp(ctx, &api.StopBgpRequest{})
	s.inst.log.Store(nil)
}
