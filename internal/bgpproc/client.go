package bgpproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/rpc"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// Binary is the BGP process' file name; DefaultPath looks for it beside
// the running executable, where the image and `make build` put it.
const Binary = "speaker-bgp"

// DefaultPath is Binary in the running executable's directory.
func DefaultPath() string {
	exe, err := os.Executable()
	if err != nil {
		return Binary
	}
	return filepath.Join(filepath.Dir(exe), Binary)
}

// Config says how to start the BGP process.
type Config struct {
	// Path is the speaker-bgp binary (empty: DefaultPath).
	Path string
	// Args are added to its command line (its logging flags).
	Args []string
	// Log gets the speaker's side: starts and unexpected exits.
	Log logr.Logger
	// OnExit, if set, is called when the process exits before Shutdown,
	// from a goroutine of its own: the next SetAdvertisements or SetPeers
	// starts a new one, and should come soon.
	OnExit func()
}

// ErrExited is returned by calls made while no BGP process runs.
var ErrExited = errors.New("bgpproc: the BGP process is not running")

// Client is the speaker's handle on its BGP process; it has the methods
// of the speaker's BGPServer and is a prometheus.Gatherer of the
// process' metrics. Safe for concurrent use; calls run concurrently in
// the child as they did on an in-process server.
type Client struct {
	cfg Config

	// childLimit is the BGP process' GOMEMLIMIT, its share of this
	// process' (0: none set), taken at the first start.
	childLimit func() int64

	mu      sync.Mutex
	opts    bgpmodel.Options
	started bool // Start succeeded once: the options are known
	closed  bool // Shutdown was called
	cur     *child
}

// child is one running process.
type child struct {
	cmd  *exec.Cmd
	rpc  *rpc.Client
	done chan struct{} // closed once the process has exited
}

// New returns a Client; nothing runs until Start.
func New(cfg Config) *Client {
	if cfg.Path == "" {
		cfg.Path = DefaultPath()
	}
	return &Client{cfg: cfg, childLimit: sync.OnceValue(shareMemoryLimit)}
}

// Dial returns a Client on a BGP process that already serves a Speaker
// on cl (a test's helper inside a network namespace); Start then only
// sends the options, and a process that exits is not started again.
func Dial(cl *rpc.Client, log logr.Logger) *Client {
	c := &Client{cfg: Config{Log: log}}
	c.cur = &child{rpc: cl, done: make(chan struct{})}
	return c
}

// Start starts the process (unless Dial gave one) and creates its server
// with opts.
func (c *Client) Start(opts bgpmodel.Options) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return errors.New("bgpproc: Start called twice")
	}
	c.opts = opts
	if _, err := c.liveLocked(); err != nil {
		return err
	}
	c.started = true
	return nil
}

// live returns the running process, starting one after an exit.
func (c *Client) live() (*child, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return nil, ErrExited
	}
	return c.liveLocked()
}

func (c *Client) liveLocked() (*child, error) {
	if c.closed {
		return nil, bgpmodel.ErrServerShutDown
	}
	if c.cur != nil && !c.cur.exited() {
		if !c.started && c.cur.cmd == nil {
			// Dialled: Start only initialises its server.
			return c.cur, c.cur.call(context.Background(), "Speaker.Init", InitArgs{Options: c.opts}, &struct{}{})
		}
		return c.cur, nil
	}
	if c.cur != nil && c.cur.cmd == nil {
		return nil, ErrExited // dialled: not ours to start
	}
	if c.started {
		c.cfg.Log.Info("starting the BGP process again", "binary", c.cfg.Path)
	}
	ch, err := c.spawn()
	if err != nil {
		return nil, err
	}
	if err := ch.call(context.Background(), "Speaker.Init", InitArgs{Options: c.opts}, &struct{}{}); err != nil {
		ch.kill()
		return nil, fmt.Errorf("bgpproc: initialising the BGP process: %w", err)
	}
	c.cur = ch
	return ch, nil
}

// spawn starts the binary with its end of a socket pair as fd 3.
func (c *Client) spawn() (*child, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("bgpproc: socketpair: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "bgp"), os.NewFile(uintptr(fds[1]), "speaker")
	defer mine.Close()
	cmd := exec.Command(c.cfg.Path, c.cfg.Args...)
	cmd.ExtraFiles = []*os.File{theirs}
	if limit := c.childLimit(); limit > 0 {
		// os/exec keeps the last of duplicate keys.
		cmd.Env = append(os.Environ(), fmt.Sprintf("GOMEMLIMIT=%d", limit))
	}
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr // its log lines go where the speaker's go
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		return nil, fmt.Errorf("bgpproc: starting %s: %w", c.cfg.Path, err)
	}
	conn, err := net.FileConn(mine)
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("bgpproc: %w", err)
	}
	ch := &child{cmd: cmd, rpc: rpc.NewClient(conn), done: make(chan struct{})}
	c.cfg.Log.V(1).Info("BGP process started", "pid", cmd.Process.Pid)
	go func() {
		err := cmd.Wait()
		close(ch.done)
		ch.rpc.Close()
		c.mu.Lock()
		expected := c.closed
		c.mu.Unlock()
		if expected {
			return
		}
		c.cfg.Log.Error(err, "the BGP process exited; its sessions are down until it is started again", "pid", cmd.Process.Pid)
		if c.cfg.OnExit != nil {
			c.cfg.OnExit()
		}
	}()
	return ch, nil
}

// shareMemoryLimit gives a third of this process' soft memory limit
// (GOMEMLIMIT, which the chart sets from the container's memory limit) to
// the BGP process and keeps the rest: two Go runtimes each collecting
// towards the whole container limit could together go past it. The split
// follows their sizes at 1,000 routes (the speaker about 42 MiB, the BGP
// process 25). It returns the BGP process' limit, 0 when none is set.
func shareMemoryLimit() int64 {
	limit := debug.SetMemoryLimit(-1)
	if limit <= 0 || limit == math.MaxInt64 {
		return 0
	}
	child := limit / 3
	debug.SetMemoryLimit(limit - child)
	return child
}

func (ch *child) exited() bool {
	select {
	case <-ch.done:
		return true
	default:
		return false
	}
}

func (ch *child) kill() {
	if ch.cmd != nil {
		_ = ch.cmd.Process.Kill()
		<-ch.done
	}
}

// call is one RPC that gives up when ctx ends or the process exits.
func (ch *child) call(ctx context.Context, method string, args, reply any) error {
	call := ch.rpc.Go(method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
		if errors.Is(call.Error, rpc.ErrShutdown) || errors.Is(call.Error, io.ErrUnexpectedEOF) {
			return ErrExited
		}
		return call.Error
	case <-ctx.Done():
		return ctx.Err()
	case <-ch.done:
		return ErrExited
	}
}

func deadline(ctx context.Context) time.Time {
	d, _ := ctx.Deadline()
	return d
}

// SetPeers is internal/bgp's Server.SetPeers in the process.
func (c *Client) SetPeers(ctx context.Context, peers []bgpmodel.Peer) error {
	return c.set(ctx, "Speaker.SetPeers", PeersArgs{Peers: peers, Deadline: deadline(ctx)}, true)
}

// SetAdvertisements is internal/bgp's Server.SetAdvertisements in the
// process.
func (c *Client) SetAdvertisements(ctx context.Context, ads []bgpmodel.Advertisement) error {
	return c.set(ctx, "Speaker.SetAdvertisements", AdsArgs{Ads: ads, Deadline: deadline(ctx)}, false)
}

// set is a SetPeers or SetAdvertisements call, starting a process if
// none runs; peers says which keyed errors it returns.
func (c *Client) set(ctx context.Context, method string, args any, peers bool) error {
	ch, err := c.live()
	if err != nil {
		return err
	}
	var e Errs
	if err := ch.call(ctx, method, args, &e); err != nil {
		return err
	}
	return decodeErr(e, peers)
}

// running is the current process if it runs; it never starts one.
func (c *Client) running() *child {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil || c.cur.exited() || !c.started {
		return nil
	}
	return c.cur
}

// PeerStates is internal/bgp's Server.PeerStates; nil while no process
// runs (its sessions are down).
func (c *Client) PeerStates(ctx context.Context) []bgpmodel.PeerState {
	ch := c.running()
	if ch == nil {
		return nil
	}
	var out []bgpmodel.PeerState
	if err := ch.call(ctx, "Speaker.PeerStates", CallArgs{Deadline: deadline(ctx)}, &out); err != nil {
		return nil
	}
	return out
}

// Gather returns the process' metrics (none while it does not run), for
// prometheus.Gatherers beside the speaker's own registry.
func (c *Client) Gather() ([]*dto.MetricFamily, error) {
	ch := c.running()
	if ch == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var b []byte
	if err := ch.call(ctx, "Speaker.Metrics", CallArgs{Deadline: deadline(ctx)}, &b); err != nil {
		return nil, fmt.Errorf("bgpproc: metrics of the BGP process: %w", err)
	}
	dec := expfmt.NewDecoder(bytes.NewReader(b), expfmt.NewFormat(expfmt.TypeProtoDelim))
	var out []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := dec.Decode(mf); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, fmt.Errorf("bgpproc: decoding the BGP process' metrics: %w", err)
		}
		out = append(out, mf)
	}
}

// Shutdown is internal/bgp's Server.Shutdown, then the process exits;
// later calls return bgpmodel.ErrServerShutDown.
func (c *Client) Shutdown(ctx context.Context) error {
	c.mu.Lock()
	ch := c.cur
	wasClosed := c.closed
	c.closed = true
	c.mu.Unlock()
	if wasClosed || ch == nil || ch.exited() {
		return nil
	}
	err := ch.call(ctx, "Speaker.Shutdown", CallArgs{Deadline: deadline(ctx)}, &struct{}{})
	ch.rpc.Close() // the process exits when its socket closes
	if ch.cmd == nil {
		return err
	}
	select {
	case <-ch.done:
	case <-ctx.Done():
		ch.kill()
	}
	return err
}
