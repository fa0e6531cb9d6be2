package bgp

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// Defaults applied to unset Peer fields.
const (
	DefaultPort                = 179
	DefaultHoldTime            = 90 * time.Second
	DefaultConnectTime         = 10 * time.Second
	DefaultGracefulRestartTime = 120 * time.Second

	// maxMD5KeyLen is TCP_MD5SIG_MAXKEYLEN in Linux.
	maxMD5KeyLen = 80
)

// family is an address family the speaker announces.
type family uint8

const (
	ipv4 family = iota + 1
	ipv6
)

func familyOf(a netip.Addr) family {
	if a.Unmap().Is4() {
		return ipv4
	}
	return ipv6
}

func (f family) String() string {
	if f == ipv4 {
		return "IPv4"
	}
	return "IPv6"
}

// sessionConfig is a validated Peer with every default filled in: what a
// session is started from.
type sessionConfig struct {
	bgpmodel.Peer
	port                 uint16
	routerID             netip.Addr
	holdSec, keepSec     uint64
	connectSec           uint64
	internal             bool // iBGP (configured or dynamic "internal")
	families             []family
	gracefulRestartSec   uint32
	nextHop4, nextHop6   netip.Addr // explicit next hops; zero = session address
	peerAddr, sourceAddr netip.Addr // unmapped
}

// addrPort is the peer's address and port, the key of metrics labels.
func (c sessionConfig) addrPort() netip.AddrPort { return netip.AddrPortFrom(c.peerAddr, c.port) }

// endpoint names where the session goes, for duplicate detection: the
// address and port, or the interface of an unnumbered peer (whose
// address is only known once the session starts).
func (c sessionConfig) endpoint() string {
	if c.Interface != "" {
		return "interface " + c.Interface
	}
	return c.addrPort().String()
}

// carries reports whether the session announces prefixes of family f.
func (c sessionConfig) carries(f family) bool { return slices.Contains(c.families, f) }

// resolvePeer validates p and fills in defaults. It reports every problem
// with the peer at once, each wrapping ErrInvalidPeer or ErrUnsupported.
func resolvePeer(p bgpmodel.Peer, opts Options) (sessionConfig, error) {
	c := sessionConfig{Peer: p}
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidPeer}, args...)...))
	}

	if p.Name == "" {
		bad("name is empty")
	}
	// internal/config has checked what needs only the BGPPeer object
	// (ASN rules, addresses and their families); this checks what the wire
	// and GoBGP need, and fills in defaults.
	c.internal = p.Internal()
	switch {
	case p.Interface != "":
		// The address is the link's neighbour, found by Server at start.
		if p.Address.IsValid() {
			bad("set peerAddress or interface, not both")
		}
		if p.SourceAddress.IsValid() {
			bad("sourceAddress with interface %q: an unnumbered session uses the interface's link-local address", p.Interface)
		}
		if p.EBGPMultiHop {
			bad("ebgpMultiHop with interface %q: an unnumbered peer is on the link by definition", p.Interface)
		}
	case !p.Address.IsValid() || p.Address.Zone() != "":
		bad("peerAddress %v is not a usable unzoned address", p.Address)
	}
	c.peerAddr = p.Address.Unmap()
	c.port = p.Port
	if c.port == 0 {
		c.port = DefaultPort
	}
	if p.SourceAddress.IsValid() {
		c.sourceAddr = p.SourceAddress.Unmap()
	}

	switch {
	case p.RouterID.IsValid():
		c.routerID = p.RouterID
	case opts.RouterID.IsValid():
		c.routerID = opts.RouterID
	case c.sourceAddr.Is4():
		c.routerID = c.sourceAddr
	}
	if !c.routerID.IsValid() {
		bad("routerID is required (no default router ID and no IPv4 sourceAddress)")
	} else if c.routerID = c.routerID.Unmap(); !c.routerID.Is4() || c.routerID.IsUnspecified() {
		bad("routerID %s must be a non-zero IPv4 address (a BGP identifier is 32 bits)", c.routerID)
	}

	hold := p.HoldTime
	if hold == 0 {
		hold = DefaultHoldTime
	}
	if hold < 3*time.Second || hold%time.Second != 0 || hold > 65535*time.Second {
		bad("holdTime %v must be whole seconds between 3s and 65535s (RFC 4271)", p.HoldTime)
	}
	keep := p.KeepaliveTime
	if keep == 0 {
		keep = (hold / 3).Truncate(time.Second)
	}
	if keep%time.Second != 0 || keep <= 0 || keep >= hold {
		bad("keepaliveTime %v must be whole seconds, at least 1s and less than holdTime %v", p.KeepaliveTime, hold)
	}
	c.holdSec, c.keepSec = uint64(hold/time.Second), uint64(keep/time.Second)

	conn := p.ConnectTime
	if conn == 0 {
		conn = DefaultConnectTime
	}
	if conn < time.Second || conn%time.Second != 0 || conn > 65535*time.Second {
		bad("connectTime %v must be whole seconds between 1s and 65535s", p.ConnectTime)
	}
	c.connectSec = uint64(conn / time.Second)

	if len(p.Password) > maxMD5KeyLen {
		// The length is safe to report; the password itself never is.
		bad("password is %d bytes, TCP MD5 allows at most %d", len(p.Password), maxMD5KeyLen)
	}

	grt := opts.GracefulRestartTime
	if grt == 0 {
		grt = DefaultGracefulRestartTime
	}
	if grt < time.Second || grt > 4095*time.Second {
		bad("graceful restart time %v must be between 1s and 4095s (12 bits)", grt)
	}
	c.gracefulRestartSec = uint32(grt / time.Second)

	if p.Interface != "" {
		// As FRR's "neighbor <if> interface": both families, IPv4 with
		// the IPv6 link-local next hop (RFC 8950) unless ipv4NextHop.
		c.families = []family{ipv4, ipv6}
		if p.IPv4NextHop.IsValid() {
			if c.nextHop4 = p.IPv4NextHop.Unmap(); !c.nextHop4.Is4() {
				bad("ipv4NextHop %s is not an IPv4 address", p.IPv4NextHop)
			}
		}
	}
	if p.Address.IsValid() {
		own := familyOf(c.peerAddr)
		c.families = []family{own}
		if p.DualStack {
			other := ipv6
			if own == ipv6 {
				other = ipv4
			}
			c.families = append(c.families, other)
		}
		if p.IPv6NextHop.IsValid() {
			if c.nextHop6 = p.IPv6NextHop.Unmap(); !c.nextHop6.Is6() {
				bad("ipv6NextHop %s is not an IPv6 address", p.IPv6NextHop)
			}
		}
		if p.IPv4NextHop.IsValid() {
			if c.nextHop4 = p.IPv4NextHop.Unmap(); !c.nextHop4.Is4() {
				bad("ipv4NextHop %s is not an IPv4 address", p.IPv4NextHop)
			}
		}
		if p.DualStack && own == ipv4 && !c.nextHop6.IsValid() {
			bad("dual-stack session to IPv4 peer %s needs an IPv6 next hop (the node's IPv6 address)", p.Address)
		}
	}

	if p.BFD.Enabled() {
		if err := bfdProfile(p.BFD).WithDefaults().Validate(); err != nil {
			bad("bfdProfile %q: %v", p.BFD.Name, err)
		}
	}
	if p.VRF != "" {
		errs = append(errs, fmt.Errorf("vrf %q: VRFs are %w", p.VRF, ErrUnsupported))
	}
	return c, errors.Join(errs...)
}

// resolvePeers validates every peer, including uniqueness of names and of
// address and port, and returns the valid ones by name together with an
// error per refused peer. Peers sharing a name are all refused; of peers
// sharing an address and port, the one whose name sorts first wins. Either
// way the outcome does not depend on input order.
func resolvePeers(peers []bgpmodel.Peer, opts Options) (map[string]sessionConfig, PeerErrors) {
	sorted := slices.Clone(peers)
	slices.SortStableFunc(sorted, func(a, b bgpmodel.Peer) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	count := map[string]int{}
	for _, p := range sorted {
		count[p.Name]++
	}
	ok := make(map[string]sessionConfig, len(sorted))
	errs := PeerErrors{}
	byAddr := map[string]string{}
	for _, p := range sorted {
		if count[p.Name] > 1 {
			errs[p.Name] = fmt.Errorf("%w: name %q is used by %d peers", ErrDuplicatePeer, p.Name, count[p.Name])
			continue
		}
		c, err := resolvePeer(p, opts)
		if err != nil {
			errs[p.Name] = err
			continue
		}
		if other, dup := byAddr[c.endpoint()]; dup {
			errs[p.Name] = fmt.Errorf("%w: %s is already peer %q", ErrDuplicatePeer, c.endpoint(), other)
			continue
		}
		byAddr[c.endpoint()] = p.Name
		ok[p.Name] = c
	}
	if len(errs) == 0 {
		errs = nil
	}
	return ok, errs
}
