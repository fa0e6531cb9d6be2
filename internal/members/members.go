// Package members tells a speaker which speakers are alive, using
// hashicorp/memberlist gossip on the nodes' LAN addresses. A node whose
// speaker dies or whose LAN link goes down stops answering probes and is
// declared dead by the others within about a second with the default
// timings below; the survivors then re-elect its addresses.
package members

import (
	"crypto/sha256"
	"fmt"
	"log"
	"net"
	"strconv"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/memberlist"
)

// Options configure membership.
type Options struct {
	// NodeName is this node's Kubernetes name; it is the member name.
	NodeName string
	// BindAddr and BindPort are where gossip listens (the node's LAN IP).
	BindAddr string
	BindPort int
	// Secret encrypts gossip; any length (it is hashed to an AES-256 key).
	// Empty means no encryption.
	Secret []byte
	// Timings. Zero values take the LAN defaults below, tuned so a dead
	// node is noticed in well under a second on a LAN: memberlist's own
	// LAN profile needs about five seconds.
	ProbeInterval  time.Duration // default 200ms
	ProbeTimeout   time.Duration // default 100ms
	GossipInterval time.Duration // default 50ms
	SuspicionMult  int           // default 2
	// OnChange is called (from memberlist's goroutines) when a member
	// joins, leaves or is declared dead. It must not block.
	OnChange func()
	// OnJoin, if set, is also called when a member joins or comes back
	// (a restart, a healed partition, a refuted death). It must not block.
	OnJoin func(name string)
	Log    logr.Logger
}

// Members is a running memberlist.
type Members struct {
	ml  *memberlist.Memberlist
	log logr.Logger
}

// New starts gossip on opts.BindAddr:BindPort.
func New(opts Options) (*Members, error) {
	ml, err := memberlist.Create(config(opts))
	if err != nil {
		return nil, fmt.Errorf("starting memberlist on %s: %w", net.JoinHostPort(opts.BindAddr, strconv.Itoa(opts.BindPort)), err)
	}
	return &Members{ml: ml, log: opts.Log}, nil
}

// config is barelb's memberlist configuration for opts; the simulation
// in sim_test.go runs it over an in-memory transport.
func config(opts Options) *memberlist.Config {
	c := memberlist.DefaultLANConfig()
	c.Name = opts.NodeName
	c.BindAddr, c.BindPort = opts.BindAddr, opts.BindPort
	c.AdvertiseAddr, c.AdvertisePort = opts.BindAddr, opts.BindPort
	c.ProbeInterval = orDur(opts.ProbeInterval, 200*time.Millisecond)
	c.ProbeTimeout = orDur(opts.ProbeTimeout, 100*time.Millisecond)
	c.GossipInterval = orDur(opts.GossipInterval, 50*time.Millisecond)
	c.SuspicionMult = opts.SuspicionMult
	if c.SuspicionMult == 0 {
		c.SuspicionMult = 2
	}
	// Let a suspected node refute quickly but not wait long: the node is
	// usually really gone (speaker killed, link down).
	c.SuspicionMaxTimeoutMult = 2
	c.TCPTimeout = time.Second
	c.PushPullInterval = 5 * time.Second
	if len(opts.Secret) > 0 {
		k := sha256.Sum256(opts.Secret)
		c.SecretKey = k[:]
	}
	c.Logger = log.New(logWriter{opts.Log}, "", 0)
	c.Events = &events{onChange: opts.OnChange, onJoin: opts.OnJoin, log: opts.Log}
	return c
}

func orDur(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// Join contacts the given host:port addresses (other speakers); members
// it learns of are gossiped on. Unreachable ones are skipped.
func (m *Members) Join(addrs []string) (int, error) {
	if len(addrs) == 0 {
		return 0, nil
	}
	return m.ml.Join(addrs)
}

// Alive returns the names of live members, this node included.
func (m *Members) Alive() map[string]bool {
	out := map[string]bool{}
	for _, n := range m.ml.Members() {
		if n.State == memberlist.StateAlive {
			out[n.Name] = true
		}
	}
	return out
}

// Leave tells the others this node is going, so they take over at once
// instead of waiting for failure detection, then stops gossip.
func (m *Members) Leave(timeout time.Duration) error {
	err := m.ml.Leave(timeout)
	if serr := m.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

type events struct {
	onChange func()
	onJoin   func(string)
	log      logr.Logger
}

// Membership changes are rare and are what moves addresses, so they are
// logged at info level: an operator reading one node's log can tell why
// it took over or let go.
func (e *events) NotifyJoin(n *memberlist.Node) {
	e.log.Info("member joined", "member", n.Name, "addr", n.Address())
	if e.onJoin != nil {
		e.onJoin(n.Name)
	}
	e.fire()
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	e.log.Info("member left or failed", "member", n.Name, "addr", n.Address())
	e.fire()
}

func (e *events) NotifyUpdate(*memberlist.Node) {}
func (e *events) fire() {
	if e.onChange != nil {
		e.onChange()
	}
}

// logWriter sends memberlist's log lines to logr at debug level.
type logWriter struct{ l logr.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.l.V(1).Info(string(p))
	return len(p), nil
}
