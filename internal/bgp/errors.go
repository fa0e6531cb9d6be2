package bgp

import (
	"fmt"
	"slices"
	"strings"
)

// PeerErrors is returned by SetPeers when some peers were refused, keyed
// by Peer.Name. The other peers were applied; a refused peer has no
// session (a previous session for that name is stopped), so its status
// condition should carry the error.
type PeerErrors map[string]error

func (e PeerErrors) Error() string { return joinKeyed("peer", e) }

// Unwrap lets errors.Is find a sentinel in any peer's error (for example
// ErrNoNeighbor, which asks for a retry).
func (e PeerErrors) Unwrap() []error {
	out := make([]error, 0, len(e))
	for _, k := range sortedKeys(e) {
		out = append(out, e[k])
	}
	return out
}

// AdvertisementErrors is returned by SetAdvertisements when some
// advertisements were refused in whole or for some peers, keyed by
// Advertisement.Name. Everything else was applied.
type AdvertisementErrors map[string]error

func (e AdvertisementErrors) Error() string { return joinKeyed("advertisement", e) }

func joinKeyed(kind string, m map[string]error) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %q: %v", kind, k, m[k])
	}
	return b.String()
}
