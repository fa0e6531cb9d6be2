// Package bgp is barelb's BGP speaker: GoBGP (v3) as a library, keeping
// sessions with the routers a node peers with and announcing the node's
// LoadBalancer prefixes to them. It knows nothing about Kubernetes; the
// speaker translates BGPPeer, BGPAdvertisement and Community objects into
// the plain Peer and Advertisement values used here (bgpmodel). It runs in
// the speaker's BGP process, cmd/speaker-bgp, which internal/bgpproc
// connects to the speaker: the speaker itself does not link GoBGP.
//
// # API
//
//	srv, err := bgp.New(log, registry, bgp.Options{RouterID: nodeIPv4})
//	err = srv.SetAdvertisements(ctx, ads) // what to announce, to whom
//	err = srv.SetPeers(ctx, peers)        // which sessions to keep up
//	states := srv.PeerStates(ctx)         // for status and events
//	err = srv.Shutdown(ctx)               // last call before exit
//
// Both Set calls are level-based: they take the complete desired state,
// diff it against what runs, and change only the difference. A peer whose
// Peer value did not change keeps its session untouched; a changed peer's
// session is re-created; route changes are announcements and withdrawals
// on live sessions, never resets. Errors are per object (PeerErrors,
// AdvertisementErrors) and everything valid is applied regardless, so a
// bad BGPPeer does not take the others down and each object can carry its
// own status condition. What the speaker cannot honour (VRFs) is refused
// with ErrUnsupported rather than ignored.
//
// # Unnumbered peers
//
// A Peer with Interface runs to the one IPv6 link-local neighbour of that
// interface, found when the session starts (see unnumbered.go; an
// interface without one yet is refused with ErrNoNeighbor and the caller
// retries), carrying both families with the link-local address as next
// hop; its BFD session, if any, runs between the two link-local
// addresses with the socket bound to the interface. The speaker sends
// Router Advertisements with lifetime 0 on the interface, which is how
// FRR's "neighbor <if> interface" learns the node's address.
// A resolution costs a netlink neighbour dump and at most one Router
// Solicitation with a one-second wait, inside SetPeers; a running session
// keeps the address it started with while it is up, and while it is down
// SetPeers solicits again (at most every 10 s) and restarts it towards a
// new neighbour, as when the router behind the link was replaced.
//
// At start-up call SetAdvertisements before SetPeers: a session then sends
// its complete table right after OPEN, which matters for graceful restart
// (the router purges stale routes at End-of-RIB).
//
// # One GoBGP instance per peer
//
// Each session runs in its own GoBGP server whose global RIB holds exactly
// the paths announced to that peer. This is what allows a per-peer router
// ID and local AS, and different attributes for the same prefix on
// different peers (LOCAL_PREF only on iBGP, communities only where an
// advertisement selects the peer), without export policies. Instances
// never listen (the speaker always connects out), so they do not compete
// for port 179, and stopped instances are reused because GoBGP's serve
// loop cannot be ended.
//
// # Merging advertisements
//
// BGP carries one path per prefix and session (barelb does not use
// ADD-PATH towards routers), so several advertisements of one prefix to
// one peer are merged: the union of their communities and large
// communities, and the highest LOCAL_PREF. This matches MetalLB's FRR
// mode, which adds communities with "additive" and lets the most
// preferred LOCAL_PREF win, and it is order-independent. A prefix only
// goes to sessions carrying its family (IPv4 sessions IPv4, IPv6 sessions
// IPv6, Peer.DualStack both). IPv6 prefixes over an IPv4 session use
// Peer.IPv6NextHop as next hop; IPv4 prefixes over an IPv6 session use
// Peer.IPv4NextHop, or the session's IPv6 address (RFC 8950) when unset.
//
// # Shutdown and graceful restart
//
// Shutdown withdraws every route from peers without graceful restart,
// waits for the withdrawals to be written, and closes with a Cease, so
// traffic moves to other nodes at once rather than after a hold time.
// Peers that negotiated graceful restart keep the node's routes: their
// sessions close without a NOTIFICATION when the process exits, and the
// router keeps forwarding on the stale routes until the restarted speaker
// has re-announced them. A speaker restart then changes nothing in the
// router's FIB, so ECMP does not rehash established flows. Withdraw with
// SetAdvertisements(ctx, nil) first when the node is leaving for good.
//
// # BFD
//
// A peer with Peer.BFD set gets a BFD session (internal/bfd/bfdnet) from
// the session's source address, or the address the kernel picks for the
// peer, to the peer's address; multi-hop with EBGPMultiHop. BFD leaving Up
// disables the neighbor at once (a Cease; GoBGP keeps it in Idle), unless
// the peer signalled AdminDown, which RFC 5882 says is no path failure;
// BFD Up brings it back as a new neighbor (no idle hold after the reset,
// which GoBGP's EnablePeer would keep), so it reconnects after GoBGP's 1-2
// s connect jitter alone. Changing only the BFD profile changes the timers in
// place (a Poll Sequence) and leaves the BGP session alone. PeerState.BFD
// and BFDDiag report the BFD session, LastError says when BFD holds the
// session down, and the Server's registry gets MetalLB's metallb_bfd_*
// metrics. Sockets open with the first BFD peer. Cost per BFD session: a
// goroutine, a socket and about 10 KiB (see bfdnet).
//
// # Diagnostics and metrics
//
// PeerStates reports each session's FSM state and, when it is not up,
// why: GoBGP reports connect failures, NOTIFICATIONs and hold timer expiry
// only in its log, so the package's GoBGP logger turns those messages into
// PeerState.LastError (a TCP MD5 mismatch shows as connects timing out,
// and the message says so). The same logger forwards GoBGP's log to logr
// and scrubs the peer's password from everything it writes.
//
// Metrics use MetalLB's names, read from GoBGP at scrape time:
// metallb_bgp_session_up, metallb_bgp_announced_prefixes_total and
// metallb_bgp_updates_total, each labelled peer="address:port".
//
// # Known limits
//
// GoBGP keeps route selection options in package variables, so instances
// in one process share them (barelb sets the same values everywhere; the
// race detector may still report the concurrent writes at instance
// start). DynamicASN is enforced by barelb after OPEN, as GoBGP accepts
// any AS when none is configured: a peer of the wrong kind is shut down
// with an explanation and retried after max(connectTime, 30s).
package bgp
