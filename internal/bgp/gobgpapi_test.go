package bgp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
	api "github.com/osrg/gobgp/v3/api"
	"github.com/osrg/gobgp/v3/pkg/apiutil"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

func TestAPIPeer(t *testing.T) {
	p := validPeer()
	p.Password, p.EBGPMultiHop, p.GracefulRestart, p.Port = "pw", true, true, 1179
	p.SourceAddress = netip.MustParseAddr("198.18.0.11")
	p.HoldTime, p.ConnectTime = 9*time.Second, 2*time.Second
	p.DualStack, p.IPv6NextHop = true, netip.MustParseAddr("2001:db8::11")
	c, err := resolvePeer(p, testOpts)
	check.Must(t, err)
	a := apiPeer(&c)
	if a.Conf.NeighborAddress != "198.18.0.1" || a.Conf.PeerAsn != 64500 || a.Conf.LocalAsn != 64512 || a.Conf.AuthPassword != "pw" {
		t.Errorf("conf %+v", a.Conf)
	}
	if tc := a.Timers.Config; tc.HoldTime != 9 || tc.KeepaliveInterval != 3 || tc.ConnectRetry != 2 || tc.IdleHoldTimeAfterReset != 2 {
		t.Errorf("timers %+v", tc)
	}
	if a.Transport.RemotePort != 1179 || a.Transport.LocalAddress != "198.18.0.11" {
		t.Errorf("transport %+v", a.Transport)
	}
	if !a.EbgpMultihop.GetEnabled() || a.EbgpMultihop.MultihopTtl != 255 {
		t.Errorf("multihop %+v", a.EbgpMultihop)
	}
	if !a.GracefulRestart.GetEnabled() || a.GracefulRestart.RestartTime != 120 || !a.GracefulRestart.NotificationEnabled {
		t.Errorf("graceful restart %+v", a.GracefulRestart)
	}
	if len(a.AfiSafis) != 2 || a.AfiSafis[0].Config.Family.Afi != api.Family_AFI_IP || a.AfiSafis[1].Config.Family.Afi != api.Family_AFI_IP6 || !a.AfiSafis[1].MpGracefulRestart.Config.Enabled {
		t.Errorf("families %+v", a.AfiSafis)
	}

	// iBGP ignores ebgpMultiHop; dynamic ASN leaves the peer AS open.
	p.PeerASN, p.DynamicASN = 0, bgpmodel.DynamicASNInternal
	c, err = resolvePeer(p, testOpts)
	check.Must(t, err)
	if a := apiPeer(&c); a.EbgpMultihop != nil || a.Conf.PeerAsn != 0 {
		t.Errorf("iBGP dynamic peer: multihop %+v peer AS %d", a.EbgpMultihop, a.Conf.PeerAsn)
	}
}

func TestAPIPath(t *testing.T) {
	p := validPeer()
	p.DualStack, p.IPv6NextHop = true, netip.MustParseAddr("2001:db8::11")
	c, err := resolvePeer(p, testOpts)
	check.Must(t, err)
	r := route{communities: []bgpmodel.Community{bgpmodel.StandardCommunity(64512, 1), bgpmodel.LargeCommunity(1, 2, 3)}, localPref: 250}

	path, err := apiPath(&c, netip.MustParsePrefix("198.19.0.0/24"), r)
	check.Must(t, err)
	nlri, err := apiutil.GetNativeNlri(path)
	check.Must(t, err)
	if nlri.String() != "198.19.0.0/24" {
		t.Errorf("nlri %s", nlri)
	}
	attrs, err := apiutil.GetNativePathAttributes(path)
	check.Must(t, err)
	got := map[bgp.BGPAttrType]string{}
	for _, a := range attrs {
		got[a.GetType()] = a.String()
	}
	for typ, want := range map[bgp.BGPAttrType]string{
		bgp.BGP_ATTR_TYPE_ORIGIN:          "{Origin: i}",
		bgp.BGP_ATTR_TYPE_NEXT_HOP:        "{Nexthop: 0.0.0.0}",
		bgp.BGP_ATTR_TYPE_COMMUNITIES:     "{Communities: 64512:1}",
		bgp.BGP_ATTR_TYPE_LARGE_COMMUNITY: "{LargeCommunity: [ 1:2:3]}",
		bgp.BGP_ATTR_TYPE_LOCAL_PREF:      "{LocalPref: 250}",
	} {
		if got[typ] != want {
			t.Errorf("attribute %v = %q, want %q", typ, got[typ], want)
		}
	}

	// IPv6 over the IPv4 session: MP_REACH with the configured next hop.
	path, err = apiPath(&c, netip.MustParsePrefix("2001:db8:ff::1/128"), route{})
	check.Must(t, err)
	attrs, err = apiutil.GetNativePathAttributes(path)
	check.Must(t, err)
	found := false
	for _, a := range attrs {
		if mp, ok := a.(*bgp.PathAttributeMpReachNLRI); ok {
			found = true
			if mp.Nexthop.String() != "2001:db8::11" {
				t.Errorf("IPv6 next hop %s", mp.Nexthop)
			}
		}
		if a.GetType() == bgp.BGP_ATTR_TYPE_LOCAL_PREF || a.GetType() == bgp.BGP_ATTR_TYPE_COMMUNITIES {
			t.Errorf("unrequested attribute %s", a)
		}
	}
	if !found || path.Family.Afi != api.Family_AFI_IP6 {
		t.Errorf("no MP_REACH_NLRI for IPv6 (family %v)", path.Family)
	}
}

func TestSessionState(t *testing.T) {
	for in, want := range map[api.PeerState_SessionState]SessionState{
		api.PeerState_UNKNOWN: StateIdle, api.PeerState_IDLE: StateIdle, api.PeerState_CONNECT: StateConnect,
		api.PeerState_ACTIVE: StateActive, api.PeerState_OPENSENT: StateOpenSent,
		api.PeerState_OPENCONFIRM: StateOpenConfirm, api.PeerState_ESTABLISHED: StateEstablished,
	} {
		if got := sessionState(in); got != want {
			t.Errorf("%v -> %s, want %s", in, got, want)
		}
	}
}
