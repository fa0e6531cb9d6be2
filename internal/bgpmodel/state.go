package bgpmodel

import (
	"net/netip"
	"time"
)

// Options configure a node's BGP server.
type Options struct {
	// RouterID is the default BGP identifier (usually the node's IPv4
	// address) for peers that set none.
	RouterID netip.Addr
	// GracefulRestartTime is the restart time advertised to peers with
	// GracefulRestart; 0 means 120s.
	GracefulRestartTime time.Duration
}

// SessionState is a BGP finite state machine state (RFC 4271 section 8).
type SessionState string

// The BGP FSM states, in the order a session passes through them.
const (
	StateIdle        SessionState = "Idle"
	StateConnect     SessionState = "Connect"
	StateActive      SessionState = "Active"
	StateOpenSent    SessionState = "OpenSent"
	StateOpenConfirm SessionState = "OpenConfirm"
	StateEstablished SessionState = "Established"
)

// BFD states as PeerState.BFD reports them.
const (
	BFDUp   = "up"
	BFDDown = "down"
)

// PeerState is a snapshot of one running session, for status and events.
type PeerState struct {
	// Name is the Peer.Name.
	Name string
	// Address is the peer's address and port.
	Address netip.AddrPort
	// Interface is an unnumbered peer's interface (Peer.Interface); its
	// Address is the neighbour found there, zoned.
	Interface string
	// State is the FSM state; only StateEstablished carries routes.
	State SessionState
	// PeerASN is the AS the peer announced (or the configured one before
	// the first OPEN).
	PeerASN uint32
	// Since is when State was entered, when known.
	Since time.Time
	// Advertised is how many prefixes the session currently announces.
	Advertised int
	// LastError explains why the session is not established, or why it
	// last went down: a NOTIFICATION, a connect error with a hint (for
	// example an MD5 password mismatch makes connects time out), or a
	// dynamic ASN mismatch, or BFD down (which holds the session down
	// until BFD is up again). Empty when nothing went wrong.
	LastError string
	// BFD is BFDUp or BFDDown for a peer with a BFD profile, "" without.
	BFD string
	// BFDDiag is the BFD session's local diagnostic: why it last went
	// down ("control detection time expired"), or why it is not running
	// yet. Empty when there is nothing to say.
	BFDDiag string
}
