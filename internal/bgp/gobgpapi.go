package bgp

import (
	"fmt"
	"net/netip"

	api "github.com/osrg/gobgp/v3/api"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// This file translates barelb's plain configuration into GoBGP's API
// structs. Nothing here talks to a server.

var (
	familyV4 = &api.Family{Afi: api.Family_AFI_IP, Safi: api.Family_SAFI_UNICAST}
	familyV6 = &api.Family{Afi: api.Family_AFI_IP6, Safi: api.Family_SAFI_UNICAST}
)

func apiFamily(f family) *api.Family {
	if f == ipv4 {
		return familyV4
	}
	return familyV6
}

// multihopTTL is what "ebgp-multihop" without a count means in FRR and
// what MetalLB's ebgpMultiHop asks for.
const multihopTTL = 255

// apiPeer builds the neighbor configuration of a session. GoBGP keeps the
// password inside its config; it is never logged (see gobgpLogger).
func apiPeer(c *sessionConfig) *api.Peer {
	p := &api.Peer{
		Conf: &api.PeerConf{
			NeighborAddress: c.peerAddr.String(),
			PeerAsn:         c.PeerASN, // 0 with DynamicASN: learnt from the OPEN
			LocalAsn:        c.MyASN,
			AuthPassword:    c.Password,
		},
		Timers: &api.Timers{Config: &api.TimersConfig{
			ConnectRetry:      c.connectSec,
			HoldTime:          c.holdSec,
			KeepaliveInterval: c.keepSec,
			// GoBGP waits 30s in Idle after a session drops unless told
			// otherwise; reconnect on the same schedule as connects.
			IdleHoldTimeAfterReset: c.connectSec,
		}},
		Transport: &api.Transport{RemotePort: uint32(c.port)},
	}
	if c.sourceAddr.IsValid() {
		p.Transport.LocalAddress = c.sourceAddr.String()
	}
	if c.Interface != "" {
		// An unnumbered session: the source is the interface's link-local
		// address, unzoned, with the socket bound to the interface (which
		// is what lets the kernel bind a link-local address without a
		// zone). GoBGP takes the session's next hop from this string and
		// cannot parse a zoned one.
		p.Transport.BindInterface = c.Interface
	}
	if c.EBGPMultiHop && !c.internal {
		p.EbgpMultihop = &api.EbgpMultihop{Enabled: true, MultihopTtl: multihopTTL}
	}
	if c.GracefulRestart {
		p.GracefulRestart = &api.GracefulRestart{
			Enabled:     true,
			RestartTime: c.gracefulRestartSec,
			// RFC 8538: ask the router to keep our routes also when the
			// session ends with a NOTIFICATION other than Hard Reset.
			NotificationEnabled: true,
		}
	}
	for _, f := range c.families {
		a := &api.AfiSafi{Config: &api.AfiSafiConfig{Family: apiFamily(f), Enabled: true}}
		if c.GracefulRestart {
			// Per-family GR state makes GoBGP send End-of-RIB, which tells
			// the router when our table is complete after a restart.
			a.MpGracefulRestart = &api.MpGracefulRestart{Config: &api.MpGracefulRestartConfig{Enabled: true}}
		}
		p.AfiSafis = append(p.AfiSafis, a)
	}
	return p
}

// apiPath builds the locally originated path for prefix with r's
// attributes. The next hop is left unspecified ("0.0.0.0" or "::") when it
// is the session's own address, which GoBGP then fills in per session;
// it is explicit only for the family the session's transport is not.
func apiPath(c *sessionConfig, prefix netip.Prefix, r route) (*api.Path, error) {
	fam := familyOf(prefix.Addr())
	nlri, err := anypb.New(&api.IPAddressPrefix{Prefix: prefix.Addr().String(), PrefixLen: uint32(prefix.Bits())})
	if err != nil {
		return nil, err
	}
	attrs := []proto.Message{&api.OriginAttribute{Origin: 0}} // IGP: the route starts here
	switch fam {
	case ipv4:
		nh := "0.0.0.0"
		if c.nextHop4.IsValid() && familyOf(c.peerAddr) != ipv4 {
			nh = c.nextHop4.String()
		}
		attrs = append(attrs, &api.NextHopAttribute{NextHop: nh})
	case ipv6:
		nh := "::"
		if c.nextHop6.IsValid() && familyOf(c.peerAddr) != ipv6 {
			nh = c.nextHop6.String()
		}
		attrs = append(attrs, &api.MpReachNLRIAttribute{Family: familyV6, NextHops: []string{nh}, Nlris: []*anypb.Any{nlri}})
	}
	var std []uint32
	var large []*api.LargeCommunity
	for _, cm := range r.communities {
		if cm.IsLarge() {
			g, l1, l2 := cm.Parts()
			large = append(large, &api.LargeCommunity{GlobalAdmin: g, LocalData1: l1, LocalData2: l2})
		} else {
			std = append(std, cm.Value())
		}
	}
	if len(std) > 0 {
		attrs = append(attrs, &api.CommunitiesAttribute{Communities: std})
	}
	if len(large) > 0 {
		attrs = append(attrs, &api.LargeCommunitiesAttribute{Communities: large})
	}
	if r.localPref != 0 {
		attrs = append(attrs, &api.LocalPrefAttribute{LocalPref: r.localPref})
	}
	pattrs := make([]*anypb.Any, 0, len(attrs))
	for _, a := range attrs {
		an, err := anypb.New(a)
		if err != nil {
			return nil, fmt.Errorf("encode %T: %w", a, err)
		}
		pattrs = append(pattrs, an)
	}
	return &api.Path{Family: apiFamily(fam), Nlri: nlri, Pattrs: pattrs}, nil
}

// sessionState maps GoBGP's FSM state enum to ours.
func sessionState(s api.PeerState_SessionState) SessionState {
	switch s {
	case api.PeerState_CONNECT:
		return StateConnect
	case api.PeerState_ACTIVE:
		return StateActive
	case api.PeerState_OPENSENT:
		return StateOpenSent
	case api.PeerState_OPENCONFIRM:
		return StateOpenConfirm
	case api.PeerState_ESTABLISHED:
		return StateEstablished
	}
	return StateIdle
}
