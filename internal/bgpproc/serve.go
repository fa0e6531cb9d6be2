package bgpproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/rpc"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// Server is what the child process runs: internal/bgp's *Server.
type Server interface {
	SetPeers(ctx context.Context, peers []bgpmodel.Peer) error
	SetAdvertisements(ctx context.Context, ads []bgpmodel.Advertisement) error
	PeerStates(ctx context.Context) []bgpmodel.PeerState
	Shutdown(ctx context.Context) error
}

// NewServerFunc creates the child's server from the speaker's options,
// its metrics registered with reg.
type NewServerFunc func(opts bgpmodel.Options, reg prometheus.Registerer) (Server, error)

// Speaker is the child's side of the wire, the receiver net/rpc serves
// (exported for it; tests serve one from a helper process too).
type Speaker struct {
	newServer NewServerFunc

	mu  sync.Mutex // one call at a time, as the speaker makes them
	srv Server
	reg *prometheus.Registry
}

// NewSpeaker returns a receiver that creates its server with f at Init.
func NewSpeaker(f NewServerFunc) *Speaker { return &Speaker{newServer: f} }

// Serve serves s on conn until the connection closes.
func Serve(conn io.ReadWriteCloser, s *Speaker) error {
	rs := rpc.NewServer()
	if err := rs.Register(s); err != nil {
		return err
	}
	rs.ServeConn(conn)
	return nil
}

// Call arguments carry the caller's deadline (zero: none).
type (
	InitArgs  struct{ Options bgpmodel.Options }
	PeersArgs struct {
		Peers    []bgpmodel.Peer
		Deadline time.Time
	}
	AdsArgs struct {
		Ads      []bgpmodel.Advertisement
		Deadline time.Time
	}
	CallArgs struct{ Deadline time.Time }
)

var errNoInit = errors.New("bgpproc: the BGP process has no server yet (Init first)")

func callContext(deadline time.Time) (context.Context, context.CancelFunc) {
	if deadline.IsZero() {
		return context.WithCancel(context.Background())
	}
	return context.WithDeadline(context.Background(), deadline)
}

// Init creates the server; a second Init is refused.
func (s *Speaker) Init(a InitArgs, _ *struct{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return errors.New("bgpproc: Init called twice")
	}
	reg := prometheus.NewRegistry()
	srv, err := s.newServer(a.Options, reg)
	if err != nil {
		return err
	}
	s.srv, s.reg = srv, reg
	return nil
}

func (s *Speaker) server() (Server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil, errNoInit
	}
	return s.srv, nil
}

// with runs f on the server under the caller's deadline.
func (s *Speaker) with(deadline time.Time, f func(context.Context, Server)) error {
	srv, err := s.server()
	if err != nil {
		return err
	}
	ctx, cancel := callContext(deadline)
	defer cancel()
	f(ctx, srv)
	return nil
}

// SetPeers is Server.SetPeers; its error travels in r.
func (s *Speaker) SetPeers(a PeersArgs, r *Errs) error {
	return s.with(a.Deadline, func(ctx context.Context, srv Server) { *r = encodeErr(srv.SetPeers(ctx, a.Peers)) })
}

// SetAdvertisements is Server.SetAdvertisements; its error travels in r.
func (s *Speaker) SetAdvertisements(a AdsArgs, r *Errs) error {
	return s.with(a.Deadline, func(ctx context.Context, srv Server) { *r = encodeErr(srv.SetAdvertisements(ctx, a.Ads)) })
}

// PeerStates is Server.PeerStates.
func (s *Speaker) PeerStates(a CallArgs, r *[]bgpmodel.PeerState) error {
	return s.with(a.Deadline, func(ctx context.Context, srv Server) { *r = srv.PeerStates(ctx) })
}

// Metrics gathers the server's registry as delimited protobuf.
func (s *Speaker) Metrics(_ CallArgs, r *[]byte) error {
	s.mu.Lock()
	reg := s.reg
	s.mu.Unlock()
	if reg == nil {
		return nil
	}
	mfs, err := reg.Gather()
	var buf bytes.Buffer
	enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeProtoDelim))
	for _, mf := range mfs {
		if eerr := enc.Encode(mf); eerr != nil {
			return eerr
		}
	}
	*r = buf.Bytes()
	return err
}

// Shutdown is Server.Shutdown; the process exits when the speaker closes
// the socket after it.
func (s *Speaker) Shutdown(a CallArgs, _ *struct{}) error {
	var err error
	if werr := s.with(a.Deadline, func(ctx context.Context, srv Server) { err = srv.Shutdown(ctx) }); werr != nil {
		return werr
	}
	return err
}
