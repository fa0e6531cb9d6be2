package bgp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/barelb/barelb/internal/bfd/bfdnet"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/go-logr/logr"
	api "github.com/osrg/gobgp/v3/api"
	"github.com/prometheus/client_golang/prometheus"
)

// Server is a node's BGP speaker: the sessions of the peers it was given
// and the routes it announces over them. Its methods are safe for
// concurrent use; configuration calls are serialised.
type Server struct {
	log  logr.Logger
	opts Options

	mu       sync.Mutex // serialises SetPeers, SetAdvertisements and Shutdown
	sessions map[string]*session
	ads      []bgpmodel.Advertisement
	spare    []*instance
	closed   bool
	bfd      *bfdLink
	// neighbor finds an unnumbered peer's address (linkLocalNeighbor).
	// fresh asks the link first instead of the kernel's table.
	neighbor func(ctx context.Context, ifname string, fresh bool) (peer, local netip.Addr, err error)

	// view is a copy of sessions for PeerStates and metrics, which must
	// not wait behind a long reconfiguration.
	viewMu sync.RWMutex
	view   map[string]*session
}

// New creates a speaker with no peers. Metrics are registered with reg
// when it is not nil; registering a second Server with the same registry
// fails, as their metrics would collide.
func New(log logr.Logger, reg prometheus.Registerer, opts Options) (*Server, error) {
	s := &Server{log: log, opts: opts, sessions: map[string]*session{}, view: map[string]*session{}, bfd: newBFDLink(log.WithName("bfd")), neighbor: linkLocalNeighbor}
	if opts.RouterID.IsValid() && !opts.RouterID.Unmap().Is4() {
		return nil, fmt.Errorf("bgp: default router ID %s is not an IPv4 address", opts.RouterID)
	}
	if reg != nil {
		if err := reg.Register(&collector{s: s}); err != nil {
			return nil, fmt.Errorf("bgp: register metrics: %w", err)
		}
		if err := reg.Register(bfdnet.NewCollector(s.bfd.m)); err != nil {
			return nil, fmt.Errorf("bgp: register BFD metrics: %w", err)
		}
	}
	return s, nil
}

// SetPeers makes the running sessions match peers. A peer whose Peer value
// is unchanged keeps its session, untouched; a changed peer's session is
// restarted with the new configuration; peers no longer listed are
// stopped with a Cease, which makes the router drop their routes at once.
// New sessions announce the current advertisements from the start.
//
// Invalid peers are refused and returned in a PeerErrors (wrapping
// ErrInvalidPeer, ErrUnsupported or ErrDuplicatePeer); a previously valid
// session under a refused name is stopped, so what runs is always exactly
// the valid part of the last call.
func (s *Server) SetPeers(ctx context.Context, peers []bgpmodel.Peer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerShutDown
	}
	want, perrs := resolvePeers(peers, s.opts)
	perrs, moved := s.findNeighbors(ctx, want, perrs)
	running := make(map[string]bgpmodel.Peer, len(s.sessions))
	for name, ss := range s.sessions {
		running[name] = ss.cfg.Peer
	}
	add, change, remove := diffPeers(running, want)
	for _, name := range moved {
		if !slices.Contains(change, name) {
			change = append(change, name)
		}
	}
	for name, ss := range s.sessions {
		if c, ok := want[name]; ok && !slices.Contains(change, name) {
			s.bfd.reconfigure(ss, c.BFD)
		}
	}
	for _, name := range remove {
		s.log.Info("stopping BGP session", "peer", name, "reason", "peer removed or refused")
		s.stopSession(ctx, name)
	}
	for _, name := range change {
		s.log.Info("stopping BGP session", "peer", name, "reason", "configuration changed")
		s.stopSession(ctx, name)
	}
	plan, _ := planRoutes(want, s.ads)
	for _, name := range slices.Concat(change, add) {
		inst := s.takeInstance()
		ss, err := startSession(ctx, inst, want[name], plan[name], s.log, s.bfd)
		if err != nil {
			s.spare = append(s.spare, inst)
			if perrs == nil {
				perrs = PeerErrors{}
			}
			perrs[name] = err
			continue
		}
		s.log.Info("starting BGP session", "peer", name, "address", want[name].addrPort().String(), "routes", len(plan[name]))
		s.sessions[name] = ss
		s.bfd.attach(ss)
	}
	s.publish()
	if perrs != nil {
		return perrs
	}
	return nil
}

// findNeighbors fills in the address of each unnumbered peer in want: a
// running session keeps the one it started with unless it is down and a
// fresh look (at most every neighborRecheck) finds another neighbour,
// which is returned in moved so that the session restarts towards it; a
// new session looks its neighbour up. Peers without a neighbour yet move
// from want to perrs, wrapping ErrNoNeighbor, so the caller retries them.
func (s *Server) findNeighbors(ctx context.Context, want map[string]sessionConfig, perrs PeerErrors) (_ PeerErrors, moved []string) {
	for _, name := range sortedKeys(want) {
		c := want[name]
		if c.Interface == "" {
			continue
		}
		if ss := s.sessions[name]; ss != nil && withoutBFD(ss.cfg.Peer) == withoutBFD(c.Peer) {
			c.peerAddr, c.sourceAddr = ss.cfg.peerAddr, ss.cfg.sourceAddr
			if peer, local, ok := s.recheckNeighbor(ctx, ss); ok {
				s.log.Info("unnumbered peer's neighbour changed", "peer", name, "was", ss.cfg.peerAddr.String(), "now", peer.String())
				c.peerAddr, c.sourceAddr = peer, local
				moved = append(moved, name)
			}
		} else if peer, local, err := s.neighbor(ctx, c.Interface, false); err != nil {
			if perrs == nil {
				perrs = PeerErrors{}
			}
			perrs[name] = err
			delete(want, name)
			continue
		} else {
			c.peerAddr, c.sourceAddr = peer, local
		}
		want[name] = c
	}
	return perrs, moved
}

// neighborRecheck is the least time between two fresh looks for the
// neighbour of an unnumbered session that is down.
const neighborRecheck = 10 * time.Second

// recheckNeighbor looks again for the neighbour of ss's interface when ss
// is not established (the router behind the link may have been
// replaced), asking the link itself (a Router Solicitation) rather than
// the kernel's table, which still holds the old neighbour for a while.
// ok reports a different neighbour.
func (s *Server) recheckNeighbor(ctx context.Context, ss *session) (peer, local netip.Addr, ok bool) {
	if time.Since(ss.resolvedAt) < neighborRecheck || ss.peer(ctx, false).GetState().GetSessionState() == api.PeerState_ESTABLISHED {
		return peer, local, false
	}
	ss.resolvedAt = time.Now()
	peer, local, err := s.neighbor(ctx, ss.cfg.Interface, true)
	if err != nil || (peer == ss.cfg.peerAddr && local == ss.cfg.sourceAddr) {
		return peer, local, false
	}
	return peer, local, true
}

// SetAdvertisements makes every session announce what ads ask for, by
// announcing and withdrawing only the difference from what it announces
// now: sessions are never reset for a route change.
//
// When several advertisements select the same prefix for the same peer
// they are merged into the one path BGP allows per prefix and session:
// the union of their communities and large communities, and the highest
// LOCAL_PREF. A prefix goes only to peers whose session carries its
// family (IPv4 peers get IPv4 prefixes, IPv6 peers IPv6, DualStack peers
// both). LocalPref goes to iBGP peers only; eBGP peers get the route
// without it. An advertisement with an invalid prefix is refused; these
// come back as AdvertisementErrors while everything else is applied.
func (s *Server) SetAdvertisements(ctx context.Context, ads []bgpmodel.Advertisement) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrServerShutDown
	}
	cfgs := make(map[string]sessionConfig, len(s.sessions))
	for name, ss := range s.sessions {
		cfgs[name] = ss.cfg
	}
	plan, aerrs := planRoutes(cfgs, ads)
	s.ads = slices.Clone(ads)
	var errs []error
	for _, name := range sortedKeys(s.sessions) {
		if err := s.sessions[name].apply(ctx, plan[name]); err != nil {
			errs = append(errs, err)
		}
	}
	if aerrs != nil {
		errs = append(errs, aerrs)
	}
	return errors.Join(errs...)
}

// Shutdown ends the speaker so that a restart drops no traffic, and must
// be the last call (usually right before the process exits):
//
//   - Sessions without graceful restart, or whose router did not
//     negotiate it, withdraw every route, wait (bounded by ctx) until the
//     withdrawals are written, and close with a Cease. The router moves
//     traffic to the other nodes at once instead of black-holing it until
//     its hold timer expires.
//   - Sessions with graceful restart negotiated keep their routes and are
//     left open: when the process exits the kernel closes them without a
//     NOTIFICATION, the router keeps forwarding to this node on the stale
//     routes for the restart time (RFC 4724), and the restarted speaker
//     re-announces them and sends End-of-RIB. No route flaps, so ECMP does
//     not rehash established flows. To withdraw from such peers instead
//     (the node is going away for good), call SetAdvertisements(ctx, nil)
//     first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var errs []error
	restarting := map[*session]bool{}
	for _, name := range sortedKeys(s.sessions) {
		ss := s.sessions[name]
		if ss.gracefulRestartNegotiated(ss.peer(ctx, false)) {
			s.log.Info("leaving BGP session to graceful restart", "peer", name, "routes", len(ss.routes))
			restarting[ss] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := ss.withdrawAll(ctx)
			ss.stop(ctx)
			s.log.Info("stopped BGP session", "peer", name)
			if err != nil {
				errMu.Lock()
				errs = append(errs, err)
				errMu.Unlock()
			}
		}()
	}
	wg.Wait()
	// BFD sessions end with AdminDown. A BGP session left to graceful
	// restart keeps its BFD session running instead, until the process
	// exits: routers take a BFD Down, AdminDown included, for a path
	// failure while the BGP session is up (FRR sends a Cease/BFD Down hard
	// reset and flushes the routes graceful restart was to keep, whatever
	// RFC 5882 §3.2 says), so the TCP session must close first (at exit)
	// and BFD fall silent with it; FRR then detects BFD down with the
	// session already in graceful restart, and keeps the routes.
	keep := false
	for _, ss := range s.sessions {
		ss.bfdMu.Lock()
		hasBFD := ss.bfdKey != nil
		ss.bfdMu.Unlock()
		if restarting[ss] && hasBFD {
			keep = true
			continue
		}
		s.bfd.detach(ss, true)
	}
	if !keep {
		s.bfd.m.Close()
	}
	return errors.Join(errs...)
}

// PeerStates returns the state of every running session, sorted by name.
// Refused peers have no session and are not listed.
func (s *Server) PeerStates(ctx context.Context) []PeerState {
	s.viewMu.RLock()
	view := s.view
	s.viewMu.RUnlock()
	out := make([]PeerState, 0, len(view))
	for _, name := range sortedKeys(view) {
		out = append(out, view[name].state(ctx))
	}
	return out
}

func (s *Server) stopSession(ctx context.Context, name string) {
	ss := s.sessions[name]
	delete(s.sessions, name)
	ss.stop(ctx)
	s.bfd.detach(ss, true)
	s.spare = append(s.spare, ss.inst)
}

func (s *Server) takeInstance() *instance {
	if n := len(s.spare); n > 0 {
		in := s.spare[n-1]
		s.spare = s.spare[:n-1]
		return in
	}
	return newInstance()
}

// publish copies sessions into view; the caller holds mu.
func (s *Server) publish() {
	v := make(map[string]*session, len(s.sessions))
	for k, ss := range s.sessions {
		v[k] = ss
	}
	s.viewMu.Lock()
	s.view = v
	s.viewMu.Unlock()
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
