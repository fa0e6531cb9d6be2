package bgptest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/rpc"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"

	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/speaker/app"
	"github.com/barelb/barelb/testsupport/netlab"
	"github.com/barelb/barelb/testsupport/reexec"
)

// The speaker component runs in the test process (it talks to envtest on
// the host's loopback) while its GoBGP server runs in a helper process
// inside the node namespace: GoBGP dials from whatever OS thread its
// goroutines land on, so it cannot be confined to a namespace in-process.
// The helper is this test binary re-executed with helperSocketEnv set,
// serving bgp.Server over net/rpc on a unix socket (reachable across
// network namespaces); rpcServer is the app.BGPServer on the other end.

const helperSocketEnv = "BARELB_BGPTEST_SOCKET"

func TestMain(m *testing.M) {
	reexec.ServeIfChild(helperSocketEnv, &Helper{})
	os.Exit(m.Run())
}

// Errs carries bgp.PeerErrors / AdvertisementErrors as strings over gob.
type Errs struct {
	Keyed map[string]string
	Other string
}

func toErrs(err error) Errs {
	var e Errs
	if err == nil {
		return e
	}
	var pe bgp.PeerErrors
	var ae bgp.AdvertisementErrors
	switch {
	case errors.As(err, &pe):
		e.Keyed = map[string]string{}
		for k, v := range pe {
			e.Keyed[k] = v.Error()
		}
	case errors.As(err, &ae):
		e.Keyed = map[string]string{}
		for k, v := range ae {
			e.Keyed[k] = v.Error()
		}
	default:
		e.Other = err.Error()
	}
	return e
}

// Helper is the RPC surface of the helper process.
type Helper struct {
	mu  sync.Mutex
	srv *bgp.Server
}

func (h *Helper) Init(opts bgp.Options, _ *struct{}) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: 1})
	var err error
	h.srv, err = bgp.New(log, nil, opts)
	return err
}

func (h *Helper) SetPeers(peers []bgpmodel.Peer, r *Errs) error {
	*r = toErrs(h.srv.SetPeers(context.Background(), peers))
	return nil
}

func (h *Helper) SetAdvertisements(ads []bgpmodel.Advertisement, r *Errs) error {
	*r = toErrs(h.srv.SetAdvertisements(context.Background(), ads))
	return nil
}

func (h *Helper) PeerStates(_ struct{}, r *[]bgp.PeerState) error {
	*r = h.srv.PeerStates(context.Background())
	return nil
}

func (h *Helper) Shutdown(_ struct{}, _ *struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

// rpcServer is app.BGPServer backed by a helper process.
type rpcServer struct{ cl *rpc.Client }

var _ app.BGPServer = rpcServer{}

func fromErrs(e Errs, peers bool, callErr error) error {
	if callErr != nil {
		return callErr
	}
	if e.Other != "" {
		return errors.New(e.Other)
	}
	if len(e.Keyed) == 0 {
		return nil
	}
	if peers {
		pe := bgp.PeerErrors{}
		for k, v := range e.Keyed {
			pe[k] = errors.New(v)
		}
		return pe
	}
	ae := bgp.AdvertisementErrors{}
	for k, v := range e.Keyed {
		ae[k] = errors.New(v)
	}
	return ae
}

func (s rpcServer) SetPeers(_ context.Context, peers []bgpmodel.Peer) error {
	var e Errs
	err := s.cl.Call("Helper.SetPeers", peers, &e)
	return fromErrs(e, true, err)
}

func (s rpcServer) SetAdvertisements(_ context.Context, ads []bgpmodel.Advertisement) error {
	var e Errs
	err := s.cl.Call("Helper.SetAdvertisements", ads, &e)
	return fromErrs(e, false, err)
}

func (s rpcServer) PeerStates(context.Context) []bgp.PeerState {
	var r []bgp.PeerState
	_ = s.cl.Call("Helper.PeerStates", struct{}{}, &r)
	return r
}

func (s rpcServer) Shutdown(context.Context) error {
	return s.cl.Call("Helper.Shutdown", struct{}{}, &struct{}{})
}

// startHelper runs a helper in ns and returns a factory for the
// component that initialises the helper's server with the router ID the
// component derives from the Node.
func startHelper(t *testing.T, ns *netlab.Namespace) app.NewBGPServerFunc {
	t.Helper()
	cl := reexec.Start(t, ns, helperSocketEnv).Client
	return func(routerID netip.Addr) (app.BGPServer, error) {
		if err := cl.Call("Helper.Init", bgp.Options{RouterID: routerID}, &struct{}{}); err != nil {
			return nil, err
		}
		return rpcServer{cl: cl}, nil
	}
}
