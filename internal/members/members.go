// Package members tells a speaker which speakers are alive, using
// hashicorp/memberlist gossip on the nodes' LAN addresses. A node whose
// speaker dies or whose LAN link goes down stops answering probes and is
// declared dead by the others within about a second with the default
// timings below; the survivors then re-elect its addresses.
//
// Each member also carries node metadata (NodeMeta: its LAN interfaces
// with MAC, state and subnets, under 100 bytes for a typical node, at
// most 512). SetMeta re-advertises it at once, so a change of link state
// reaches the others with the next gossip round (GossipInterval, 50ms by
// default) instead of waiting for failure detection, which never fires
// when gossip runs on another interface than the one that went down.
// Meta returns every live member's metadata; SpeakerMACs the MACs of
// every member seen since start, so the layer 2 announcer never takes a
// speaker's packets for an address conflict. Carriers (eligible.go) is the
// pure rule that turns a member's metadata into "may carry this IP".
// A speaker about to be replaced on its node (a rolling upgrade) tells
// the others first, and they keep it as a member until its successor
// joins or a bounded hold runs out (restart.go), so its addresses do not
// move away and back.
package members

import (
	"crypto/sha256"
	"fmt"
	"log"
	"net"
	"slices"
	"sort"
	"strconv"
	"sync"
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
	// Meta is this node's metadata at start; SetMeta changes it.
	Meta NodeMeta
	// OnMeta, if set, is called (from memberlist's goroutines) when a
	// member's metadata is first seen or changes, this node's included.
	// It must not block.
	OnMeta func(name string)
	Log    logr.Logger
}

// Members is a running memberlist.
type Members struct {
	ml    *memberlist.Memberlist
	log   logr.Logger
	metas *metaStore // with the others' planned restarts
}

// metaStore holds this node's encoded metadata (memberlist's Delegate)
// and the last metadata seen from every member.
type metaStore struct {
	onMeta   func(string)
	log      logr.Logger
	restarts *restarts

	mu    sync.Mutex
	local []byte
	seen  map[string]NodeMeta
	bad   map[string]string // member -> why its metadata is unusable
}

// New starts gossip on opts.BindAddr:BindPort.
func New(opts Options) (*Members, error) {
	c, store, err := config(opts)
	if err != nil {
		return nil, err
	}
	ml, err := memberlist.Create(c)
	if err != nil {
		return nil, fmt.Errorf("starting memberlist on %s: %w", net.JoinHostPort(opts.BindAddr, strconv.Itoa(opts.BindPort)), err)
	}
	return &Members{ml: ml, log: opts.Log, metas: store}, nil
}

// config is barelb's memberlist configuration for opts; the simulation
// in sim_test.go runs it over an in-memory transport.
func config(opts Options) (*memberlist.Config, *metaStore, error) {
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
	local, err := EncodeMeta(opts.Meta)
	if err != nil {
		return nil, nil, err
	}
	store := &metaStore{onMeta: opts.OnMeta, log: opts.Log, local: local, seen: map[string]NodeMeta{}, bad: map[string]string{},
		restarts: newRestarts(opts.OnChange)}
	c.Delegate = store
	c.Events = &events{onChange: opts.OnChange, onJoin: opts.OnJoin, log: opts.Log, metas: store}
	return c, store, nil
}

// SetMeta replaces this node's metadata and re-advertises it, waiting at
// most timeout for the broadcast to go out. Metadata that does not fit
// is refused (ErrMetaTooLarge) and the previous one stays.
func (m *Members) SetMeta(meta NodeMeta, timeout time.Duration) error {
	b, err := EncodeMeta(meta)
	if err != nil {
		return err
	}
	m.metas.mu.Lock()
	same := string(b) == string(m.metas.local)
	m.metas.local = b
	m.metas.mu.Unlock()
	if same {
		return nil
	}
	return m.ml.UpdateNode(timeout)
}

// Meta returns the metadata of every live member, this node included.
// A member whose metadata is missing or undecodable (an older or newer
// speaker) is left out: callers should treat its links as unknown, not
// as down.
func (m *Members) Meta() map[string]NodeMeta {
	out := map[string]NodeMeta{}
	m.metas.mu.Lock()
	defer m.metas.mu.Unlock()
	for _, n := range m.ml.Members() {
		if n.State != memberlist.StateAlive {
			continue
		}
		if md, ok := m.metas.seen[n.Name]; ok {
			out[n.Name] = md
		}
	}
	for _, name := range m.metas.restarts.heldNames() {
		if md, ok := m.metas.seen[name]; ok {
			out[name] = md
		}
	}
	return out
}

// SpeakerMACs returns the MAC of every interface of every member seen
// since this node started, alive or not, sorted: a speaker cut off from
// gossip by a partition may still answer ARP on the LAN, and that is a
// split brain, not a foreign host.
func (m *Members) SpeakerMACs() []net.HardwareAddr {
	m.metas.mu.Lock()
	defer m.metas.mu.Unlock()
	seen := map[string]net.HardwareAddr{}
	for _, md := range m.metas.seen {
		for _, i := range md.Interfaces {
			if len(i.MAC) > 0 {
				seen[i.MAC.String()] = i.MAC
			}
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]net.HardwareAddr, len(keys))
	for i, k := range keys {
		out[i] = slices.Clone(seen[k])
	}
	return out
}

// NodeMeta implements memberlist.Delegate.
func (s *metaStore) NodeMeta(limit int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.local) > limit {
		return nil // EncodeMeta keeps it within MaxMetaSize; never reached
	}
	return slices.Clone(s.local)
}

// NotifyMsg receives the other members' user messages: restart notices.
func (s *metaStore) NotifyMsg(b []byte) {
	name, hold, err := decodeNotice(b)
	if err != nil {
		return
	}
	s.log.Info("member is restarting; it stays a member while it does", "member", name, "hold", hold)
	s.restarts.noticed(name, hold, time.Now())
}

func (s *metaStore) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (s *metaStore) LocalState(join bool) []byte                { return nil }
func (s *metaStore) MergeRemoteState(buf []byte, join bool)     {}

// observe records n's metadata and reports a change through onMeta.
func (s *metaStore) observe(n *memberlist.Node) {
	md, err := DecodeMeta(n.Meta)
	s.mu.Lock()
	if err != nil {
		first := s.bad[n.Name] != err.Error()
		s.bad[n.Name] = err.Error()
		delete(s.seen, n.Name)
		s.mu.Unlock()
		if first {
			s.log.Info("member's node metadata is unusable; its links count as unknown", "member", n.Name, "error", err.Error())
		}
		return
	}
	delete(s.bad, n.Name)
	prev, had := s.seen[n.Name]
	s.seen[n.Name] = md
	s.mu.Unlock()
	if had && prev.Equal(md) {
		return
	}
	s.log.V(1).Info("member metadata", "member", n.Name, "interfaces", len(md.Interfaces))
	if s.onMeta != nil {
		s.onMeta(n.Name)
	}
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

// Addr is where this member gossips, host:port (the port chosen when
// BindPort was 0).
func (m *Members) Addr() string { return m.ml.LocalNode().Address() }

// Alive returns the names of live members, this node included, and of
// members held through a planned restart (see AnnounceRestart).
func (m *Members) Alive() map[string]bool {
	out := map[string]bool{}
	for _, n := range m.ml.Members() {
		if n.State == memberlist.StateAlive {
			out[n.Name] = true
		}
	}
	for _, name := range m.metas.restarts.heldNames() {
		out[name] = true
	}
	return out
}

// States returns every member memberlist still lists, this node
// included, with its state: "alive" or "suspect" (missed probes, not yet
// declared dead), and members held through a planned restart as
// "restarting". Dead and departed members are not listed: memberlist
// drops them from its member list.
func (m *Members) States() map[string]string {
	out := map[string]string{}
	for _, n := range m.ml.Members() {
		switch n.State {
		case memberlist.StateAlive:
			out[n.Name] = "alive"
		case memberlist.StateSuspect:
			out[n.Name] = "suspect"
		}
	}
	for _, name := range m.metas.restarts.heldNames() {
		out[name] = "restarting"
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
	metas    *metaStore
}

// Membership changes are rare and are what moves addresses, so they are
// logged at info level: an operator reading one node's log can tell why
// it took over or let go.
func (e *events) NotifyJoin(n *memberlist.Node) {
	e.log.Info("member joined", "member", n.Name, "addr", n.Address())
	e.metas.restarts.joined(n.Name)
	e.metas.observe(n)
	if e.onJoin != nil {
		e.onJoin(n.Name)
	}
	e.fire()
}

func (e *events) NotifyLeave(n *memberlist.Node) {
	if e.metas.restarts.left(n.Name, time.Now()) {
		e.log.Info("member left to restart; held as a member until it is back or its hold runs out", "member", n.Name, "addr", n.Address())
	} else {
		e.log.Info("member left or failed", "member", n.Name, "addr", n.Address())
	}
	e.fire()
}

// NotifyUpdate is memberlist telling of a member's new metadata.
func (e *events) NotifyUpdate(n *memberlist.Node) { e.metas.observe(n) }
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
