package bgpmodel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors wrapped by peer and advertisement validation, so callers
// can map them to status condition reasons.
var (
	ErrUnsupported    = errors.New("not supported by the GoBGP speaker")
	ErrInvalidPeer    = errors.New("invalid peer")
	ErrInvalidAdvert  = errors.New("invalid advertisement")
	ErrDuplicatePeer  = errors.New("duplicate peer")
	ErrServerShutDown = errors.New("bgp server is shut down")
	// ErrNoNeighbor: an unnumbered peer's interface has no single IPv6
	// link-local neighbour yet; SetPeers should be called again later.
	ErrNoNeighbor = errors.New("no IPv6 link-local neighbour")
)

// Sentinels lists the sentinel errors above, for code that carries errors
// across a process boundary and must keep errors.Is working.
var Sentinels = []error{ErrUnsupported, ErrInvalidPeer, ErrInvalidAdvert, ErrDuplicatePeer, ErrServerShutDown, ErrNoNeighbor}

// PeerErrors is returned by SetPeers when some peers were refused, keyed
// by Peer.Name. The other peers were applied; a refused peer has no
// session (a previous session for that name is stopped), so its status
// condition should carry the error.
type PeerErrors map[string]error

func (e PeerErrors) Error() string { return joinKeyed("peer", e) }

// Unwrap lets errors.Is find a sentinel in any peer's error (for example
// ErrNoNeighbor, which asks for a retry).
func (e PeerErrors) Unwrap() []error { return valuesByKey(e) }

// AdvertisementErrors is returned by SetAdvertisements when some
// advertisements were refused in whole or for some peers, keyed by
// Advertisement.Name. Everything else was applied.
type AdvertisementErrors map[string]error

func (e AdvertisementErrors) Error() string { return joinKeyed("advertisement", e) }

// Unwrap lets errors.Is find a sentinel in any advertisement's error.
func (e AdvertisementErrors) Unwrap() []error { return valuesByKey(e) }

func valuesByKey(m map[string]error) []error {
	keys := sortedKeys(m)
	out := make([]error, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func sortedKeys(m map[string]error) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func joinKeyed(kind string, m map[string]error) string {
	var b strings.Builder
	for i, k := range sortedKeys(m) {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %q: %v", kind, k, m[k])
	}
	return b.String()
}
