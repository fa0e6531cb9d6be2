package bgpproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
)

// fakeServer records what it was given and answers from it.
type fakeServer struct {
	opts  bgpmodel.Options
	peers []bgpmodel.Peer
	ads   []bgpmodel.Advertisement
	down  bool
}

func (f *fakeServer) SetPeers(_ context.Context, peers []bgpmodel.Peer) error {
	f.peers = peers
	errs := bgpmodel.PeerErrors{}
	for _, p := range peers {
		if p.MyASN == 0 {
			errs[p.Name] = fmt.Errorf("%w: myASN is required", bgpmodel.ErrInvalidPeer)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func (f *fakeServer) SetAdvertisements(_ context.Context, ads []bgpmodel.Advertisement) error {
	f.ads = ads
	return nil
}

func (f *fakeServer) PeerStates(context.Context) []bgpmodel.PeerState {
	var out []bgpmodel.PeerState
	for _, p := range f.peers {
		out = append(out, bgpmodel.PeerState{Name: p.Name, Address: netip.AddrPortFrom(p.Address, 179),
			State: bgpmodel.StateActive, Since: time.Unix(1700000000, 5).UTC(), LastError: "router " + f.opts.RouterID.String()})
	}
	return out
}

func (f *fakeServer) Shutdown(context.Context) error { f.down = true; return nil }

// The calls, their values, errors and metrics over a socket pair, the
// receiver served in this process.
func TestClientServesOverSocket(t *testing.T) {
	a, b := net.Pipe()
	fake := &fakeServer{}
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "metallb_bgp_session_up", Help: "test"})
	served := make(chan error, 1)
	go func() {
		served <- Serve(b, NewSpeaker(func(opts bgpmodel.Options, reg prometheus.Registerer) (Server, error) {
			fake.opts = opts
			up.Set(1)
			return fake, reg.Register(up)
		}))
	}()
	c := Dial(rpc.NewClient(a), testr.New(t))
	if got := c.PeerStates(context.Background()); got != nil {
		t.Errorf("PeerStates before Start: %v", got)
	}
	check.Must(t, c.Start(bgpmodel.Options{RouterID: netip.MustParseAddr("198.18.0.7")}))
	ctx := context.Background()
	check.Must(t, c.SetAdvertisements(ctx, []bgpmodel.Advertisement{{Name: "a", Prefix: netip.MustParsePrefix("198.18.5.1/32")}}))
	err := c.SetPeers(ctx, []bgpmodel.Peer{{Name: "good", MyASN: 64512, PeerASN: 64513, Address: netip.MustParseAddr("198.18.0.1")}, {Name: "bad", Address: netip.MustParseAddr("198.18.0.2")}})
	var pe bgpmodel.PeerErrors
	if !errors.As(err, &pe) || len(pe) != 1 || !errors.Is(pe["bad"], bgpmodel.ErrInvalidPeer) {
		t.Errorf("SetPeers error %v, want PeerErrors for bad only", err)
	}
	if len(fake.ads) != 1 || fake.ads[0].Prefix.String() != "198.18.5.1/32" || len(fake.peers) != 2 {
		t.Errorf("server got ads %v peers %v", fake.ads, fake.peers)
	}
	st := c.PeerStates(ctx)
	if len(st) != 2 || st[0].Address.String() != "198.18.0.1:179" || !st[0].Since.Equal(time.Unix(1700000000, 5)) ||
		st[0].LastError != "router 198.18.0.7" || st[0].State != bgpmodel.StateActive {
		t.Errorf("PeerStates %+v", st)
	}
	mfs, err := c.Gather()
	check.Must(t, err)
	if len(mfs) != 1 || mfs[0].GetName() != "metallb_bgp_session_up" || mfs[0].Metric[0].GetGauge().GetValue() != 1 {
		t.Errorf("metrics %v", mfs)
	}
	check.Must(t, c.Shutdown(ctx))
	if !fake.down {
		t.Error("Shutdown did not reach the server")
	}
	if err := c.SetPeers(ctx, nil); !errors.Is(err, bgpmodel.ErrServerShutDown) {
		t.Errorf("SetPeers after Shutdown: %v", err)
	}
	select {
	case <-served:
	case <-time.After(5 * time.Second):
		t.Error("Serve did not return when the speaker closed the socket")
	}
}

// buildChild builds cmd/speaker-bgp for the process tests.
func buildChild(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), Binary)
	cmd := exec.Command("go", "build", "-o", bin, "github.com/barelb/barelb/cmd/speaker-bgp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// The real BGP process: a session to a closed port on loopback is
// refused, a bad peer keeps its error, metrics come from GoBGP; when the
// process dies the next call starts another (OnExit asks for it); when
// the speaker's end of the socket closes without Shutdown (the speaker
// died), the process exits.
func TestBGPProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/speaker-bgp")
	}
	bin := buildChild(t)
	// The chart's GOMEMLIMIT is shared: a third to the BGP process.
	prev := debug.SetMemoryLimit(300 << 20)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	var exits atomic.Int32
	c := New(Config{Path: bin, Args: []string{"--zap-log-level=debug", "--node=test"}, Log: testr.New(t), OnExit: func() { exits.Add(1) }})
	check.Must(t, c.Start(bgpmodel.Options{RouterID: netip.MustParseAddr("198.18.0.7")}))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	check.Must(t, err)
	port := uint16(closed.Addr().(*net.TCPAddr).Port)
	closed.Close() // nothing listens there: connects are refused at once
	peers := []bgpmodel.Peer{
		{Name: "lo", MyASN: 64512, PeerASN: 64513, Address: netip.MustParseAddr("127.0.0.1"), Port: port},
		{Name: "vrf", MyASN: 64512, PeerASN: 64513, Address: netip.MustParseAddr("127.0.0.2"), VRF: "red"},
	}
	check.Must(t, c.SetAdvertisements(ctx, []bgpmodel.Advertisement{{Name: "a", Prefix: netip.MustParsePrefix("198.18.5.1/32")}}))
	err = c.SetPeers(ctx, peers)
	if !errors.Is(err, bgpmodel.ErrUnsupported) {
		t.Errorf("SetPeers: %v, want the vrf peer refused as unsupported", err)
	}
	check.Eventually(t, 10*time.Second, "the loopback session's state", func() error {
		st := c.PeerStates(ctx)
		if len(st) != 1 || st[0].Name != "lo" || st[0].State == bgpmodel.StateEstablished {
			return fmt.Errorf("states %+v", st)
		}
		return nil
	})
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.pid()))
	check.Must(t, err)
	if !strings.Contains(string(env), fmt.Sprintf("\x00GOMEMLIMIT=%d\x00", 100<<20)) && !strings.HasPrefix(string(env), fmt.Sprintf("GOMEMLIMIT=%d\x00", 100<<20)) {
		t.Errorf("the BGP process' environment lacks GOMEMLIMIT=%d", 100<<20)
	}
	if got := debug.SetMemoryLimit(-1); got != 200<<20 {
		t.Errorf("the speaker's memory limit is %d after the start, want %d", got, 200<<20)
	}
	mfs, err := c.Gather()
	check.Must(t, err)
	found := false
	for _, mf := range mfs {
		if mf.GetName() == "metallb_bgp_session_up" && len(mf.Metric) == 1 && mf.Metric[0].GetGauge().GetValue() == 0 {
			found = true
		}
	}
	if !found {
		t.Errorf("no metallb_bgp_session_up 0 among %d families", len(mfs))
	}

	// The process dies: calls say so, OnExit fires, the next Set starts
	// a new one with the same options.
	first := c.pid()
	check.Must(t, syscall.Kill(first, syscall.SIGKILL))
	check.Eventually(t, 10*time.Second, "OnExit", func() error {
		if exits.Load() != 1 {
			return fmt.Errorf("%d exits seen", exits.Load())
		}
		return nil
	})
	if st := c.PeerStates(ctx); st != nil {
		t.Errorf("PeerStates of a dead process: %v", st)
	}
	check.Must(t, c.SetAdvertisements(ctx, nil))
	if err := c.SetPeers(ctx, peers[:1]); err != nil {
		t.Errorf("SetPeers on the new process: %v", err)
	}
	second := c.pid()
	if second == first || second == 0 {
		t.Errorf("pid %d after %d", second, first)
	}
	if got := debug.SetMemoryLimit(-1); got != 200<<20 {
		t.Errorf("a restart changed the speaker's memory limit to %d", got)
	}
	if st := c.PeerStates(ctx); len(st) != 1 {
		t.Errorf("new process states %+v", st)
	}

	// The speaker dies: its end closes, the process exits by itself.
	c.mu.Lock()
	ch := c.cur
	c.mu.Unlock()
	ch.rpc.Close()
	select {
	case <-ch.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the BGP process outlived its socket")
	}
	check.Eventually(t, 10*time.Second, "OnExit after the socket closed", func() error {
		if exits.Load() != 2 {
			return fmt.Errorf("%d exits seen", exits.Load())
		}
		return nil
	})

	// Shutdown of a running process ends it, and the Client.
	check.Must(t, c.SetPeers(ctx, peers[:1]))
	third := c.pid()
	check.Must(t, c.Shutdown(ctx))
	if err := syscall.Kill(third, 0); err == nil || !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process %d after Shutdown: kill -0 says %v", third, err)
	}
	if err := c.SetAdvertisements(ctx, nil); !errors.Is(err, bgpmodel.ErrServerShutDown) {
		t.Errorf("after Shutdown: %v", err)
	}
	if exits.Load() != 2 {
		t.Errorf("Shutdown counted as an unexpected exit (%d)", exits.Load())
	}
}

func (c *Client) pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || c.cur.cmd == nil {
		return 0
	}
	return c.cur.cmd.Process.Pid
}

func TestDefaultPath(t *testing.T) {
	exe, err := os.Executable()
	check.Must(t, err)
	if got := DefaultPath(); got != filepath.Join(filepath.Dir(exe), Binary) {
		t.Errorf("DefaultPath %q", got)
	}
}
