package bgpmodel

import (
	"net/netip"
	"slices"
	"time"
)

// DynamicASN lets a peer's AS number be learnt from its OPEN message
// instead of being configured (BGPPeer.spec.dynamicASN).
type DynamicASN string

const (
	// DynamicASNNone means PeerASN is configured.
	DynamicASNNone DynamicASN = ""
	// DynamicASNInternal accepts a peer whose AS equals MyASN (iBGP).
	DynamicASNInternal DynamicASN = "internal"
	// DynamicASNExternal accepts a peer whose AS differs from MyASN (eBGP).
	DynamicASNExternal DynamicASN = "external"
)

// Peer is one BGP session the speaker should keep up. It mirrors BGPPeer
// v1beta2 with Kubernetes types replaced by plain ones; node selection and
// password secrets are resolved by the caller. Peer is comparable: SetPeers
// restarts a session only when its Peer value changed.
type Peer struct {
	// Name identifies the peer in errors, PeerStates and Advertisement.Peers
	// (the BGPPeer object name). Required and unique.
	Name string

	// MyASN is the local AS. Required.
	MyASN uint32
	// PeerASN is the remote AS; leave it 0 when DynamicASN is set.
	PeerASN uint32
	// DynamicASN accepts any remote AS of the given kind instead of PeerASN.
	DynamicASN DynamicASN

	// Address is the peer's IPv4 or IPv6 address. Required unless
	// Interface is set, and then it must be unset.
	Address netip.Addr
	// Interface names a node interface for an unnumbered peer
	// (BGPPeer.spec.interface): the session runs to the one IPv6
	// link-local neighbour on that point-to-point link, found when the
	// session starts, and carries IPv4 and IPv6 with the session's
	// link-local address as next hop (RFC 8950 for IPv4).
	Interface string
	// Port is the peer's TCP port; 0 means 179.
	Port uint16
	// SourceAddress, when valid, is the local address the session binds
	// to. It must be of Address's family and present on the node.
	SourceAddress netip.Addr
	// RouterID is the BGP identifier sent to this peer (IPv4 format). Zero
	// means Options.RouterID, then SourceAddress when it is IPv4.
	RouterID netip.Addr

	// HoldTime proposed to the peer: 0 (default 90s) or at least 3s, whole
	// seconds. KeepaliveTime defaults to a third of it and must be shorter.
	HoldTime      time.Duration
	KeepaliveTime time.Duration
	// ConnectTime is the wait between connection attempts, whole seconds;
	// 0 means 10s.
	ConnectTime time.Duration

	// EBGPMultiHop allows an eBGP peer that is not directly connected
	// (TTL 255 instead of 1). Ignored for iBGP, which never limits TTL.
	EBGPMultiHop bool

	// Password enables TCP MD5 signatures (RFC 2385). It is never logged.
	Password string

	// GracefulRestart advertises the graceful restart capability (RFC 4724,
	// with the RFC 8538 notification extension), so the router keeps
	// forwarding to this node while the speaker restarts. See Shutdown.
	GracefulRestart bool

	// DualStack carries both IPv4 and IPv6 unicast over this one session
	// (MP-BGP); otherwise the session carries only Address's family.
	DualStack bool
	// IPv6NextHop is the next hop for IPv6 prefixes sent over an IPv4
	// session (required with DualStack on an IPv4 peer): usually the node's
	// global IPv6 address on the link towards the peer.
	IPv6NextHop netip.Addr
	// IPv4NextHop is the next hop for IPv4 prefixes sent over an IPv6
	// session. When unset the session's IPv6 address is used (RFC 8950
	// extended next hop), which the router must accept explicitly.
	IPv4NextHop netip.Addr

	// BFD, when BFD.Name is set, runs a BFD session beside this BGP
	// session: BFD going down takes the BGP session down at once. A
	// change of BFD alone updates the BFD timers in place and leaves the
	// BGP session alone.
	BFD BFDProfile

	// VRF is a BGPPeer field this speaker cannot honour; a peer that sets
	// it is refused with an error instead of being run without it.
	VRF string
}

// BFDProfile is the part of a BFDProfile object a BFD session runs with.
// Zero durations and counts mean the defaults (300ms, 300ms, 3, 254).
// It is a value, not a pointer, so that Peer stays comparable.
type BFDProfile struct {
	// Name is the BFDProfile's name; empty means no BFD.
	Name string
	// ReceiveInterval is the slowest rate this side wants packets at;
	// TransmitInterval the fastest it sends at while up.
	ReceiveInterval, TransmitInterval time.Duration
	// DetectMultiplier: the peer declares the session down after this
	// many intervals without a packet.
	DetectMultiplier uint8
	// MinimumTTL is the lowest TTL accepted on multi-hop sessions.
	MinimumTTL uint8
	// PassiveMode: wait for the peer's first packet before sending.
	PassiveMode bool
}

// Enabled reports whether the peer runs BFD.
func (b BFDProfile) Enabled() bool { return b.Name != "" }

// Advertisement asks for one prefix to be announced, to the named peers or
// to every peer. Several advertisements may name the same prefix; see
// SetAdvertisements for how they combine.
type Advertisement struct {
	// Name identifies the advertisement in errors (for example the
	// BGPAdvertisement name and the LoadBalancer IP).
	Name string
	// Prefix is announced as given; build it with Aggregate. It must be
	// masked (no host bits).
	Prefix netip.Prefix
	// Communities are attached to the route (standard and large).
	Communities []Community
	// LocalPref, when non-zero, sets LOCAL_PREF on iBGP sessions; eBGP
	// sessions get the route without it (LOCAL_PREF stays inside an AS).
	LocalPref uint32
	// Peers lists Peer.Name values; empty means every peer. Names of
	// peers that are not configured are ignored (the BGPPeer may select
	// other nodes).
	Peers []string
}

// Internal reports whether the session is iBGP: the configured peer AS
// equals the local one, or dynamicASN is "internal".
func (p Peer) Internal() bool {
	if p.DynamicASN != DynamicASNNone {
		return p.DynamicASN == DynamicASNInternal
	}
	return p.PeerASN == p.MyASN
}

// Carries reports whether the session announces prefixes of prefix's
// family: its own address's family, and both with DualStack.
func (p Peer) Carries(prefix netip.Prefix) bool {
	return p.DualStack || p.Address.Unmap().Is4() == prefix.Addr().Unmap().Is4()
}

// Receives reports whether the session really gets prefix from ad: ad
// names it (or names no peer) and the session carries the family. A
// LocalPref does not matter: eBGP peers get the route without it.
func (p Peer) Receives(ad Advertisement) bool {
	if len(ad.Peers) > 0 && !slices.Contains(ad.Peers, p.Name) {
		return false
	}
	return p.Carries(ad.Prefix)
}
