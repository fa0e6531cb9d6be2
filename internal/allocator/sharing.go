package allocator

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// Port is one (protocol, port) a Service listens on.
type Port struct {
	Protocol string // "TCP", "UDP" or "SCTP"
	Port     int32
}

func (p Port) String() string { return p.Protocol + "/" + strconv.Itoa(int(p.Port)) }

// Sharing tells with whom a Service may share an IP. Two Services can
// hold the same IP only when both have the same non-empty Key
// (metallb.io/allow-shared-ip), no Port in common, and equal Compat.
type Sharing struct {
	Key   string
	Ports []Port
	// Compat is built by the caller from what must match for the speaker
	// to announce one IP for both Services: externalTrafficPolicy and,
	// when it is Local, the pod selector. The allocator only compares it.
	Compat string
}

// ipState is one held IP and who holds it. All holders have the same
// sharing key and compat string (enforced on every admission), so they
// are stored once.
type ipState struct {
	ip      netip.Addr
	pool    *pool    // nil when the IP is in no configured pool
	holders []string // sorted service keys
	key     string
	compat  string
	ports   map[Port]string // port -> holder using it
}

// conflict explains why svc may not hold st's IP alongside its current
// holders (svc itself excluded); nil when it may.
func (st *ipState) conflict(svc string, sh Sharing) error {
	other := ""
	for _, h := range st.holders {
		if h != svc {
			other = h
			break
		}
	}
	if other == "" {
		return nil
	}
	switch {
	case st.key == "":
		return fmt.Errorf("%w: %s is used by %s, which does not allow sharing", ErrInUse, st.ip, other)
	case sh.Key == "":
		return fmt.Errorf("%w: %s is used by %s; this service has no sharing key (%s has %q)", ErrInUse, st.ip, other, other, st.key)
	case sh.Key != st.key:
		return fmt.Errorf("%w: %s is used by %s with a different sharing key (%q, this service has %q)", ErrSharingConflict, st.ip, other, st.key, sh.Key)
	case sh.Compat != st.compat:
		return fmt.Errorf("%w: %s is used by %s, whose traffic policy or pod selector is incompatible (%q, this service has %q)", ErrSharingConflict, st.ip, other, st.compat, sh.Compat)
	}
	for _, p := range sh.Ports {
		if h, ok := st.ports[p]; ok && h != svc {
			return fmt.Errorf("%w: %s is used by %s, which also uses port %v", ErrSharingConflict, st.ip, h, p)
		}
	}
	return nil
}

func (st *ipState) addHolder(svc string, sh Sharing) {
	if i, found := slices.BinarySearch(st.holders, svc); !found {
		st.holders = slices.Insert(st.holders, i, svc)
	}
	for _, p := range sh.Ports {
		if st.ports == nil {
			st.ports = make(map[Port]string)
		}
		st.ports[p] = svc
	}
}

func (st *ipState) removeHolder(svc string, sh Sharing) {
	if i, found := slices.BinarySearch(st.holders, svc); found {
		st.holders = slices.Delete(st.holders, i, i+1)
	}
	for _, p := range sh.Ports {
		if st.ports[p] == svc {
			delete(st.ports, p)
		}
	}
}
