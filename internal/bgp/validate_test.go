package bgp

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
)

var testOpts = Options{RouterID: netip.MustParseAddr("198.18.0.11")}

func validPeer() bgpmodel.Peer {
	return bgpmodel.Peer{Name: "tor", MyASN: 64512, PeerASN: 64500, Address: netip.MustParseAddr("198.18.0.1")}
}

func TestResolvePeerDefaults(t *testing.T) {
	c, err := resolvePeer(validPeer(), testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if c.port != 179 || c.holdSec != 90 || c.keepSec != 30 || c.connectSec != 10 || c.gracefulRestartSec != 120 {
		t.Errorf("defaults: port %d hold %d keepalive %d connect %d gr %d", c.port, c.holdSec, c.keepSec, c.connectSec, c.gracefulRestartSec)
	}
	if c.routerID != testOpts.RouterID || c.internal || len(c.families) != 1 || c.families[0] != ipv4 {
		t.Errorf("routerID %s internal %v families %v", c.routerID, c.internal, c.families)
	}
}

func TestResolvePeer(t *testing.T) {
	for _, tc := range []struct {
		name   string
		mod    func(*bgpmodel.Peer)
		opts   *Options
		errSub string // empty: valid
		is     error
		check  func(*testing.T, sessionConfig)
	}{
		{name: "ibgp", mod: func(p *bgpmodel.Peer) { p.PeerASN = 64512 }, check: func(t *testing.T, c sessionConfig) {
			if !c.internal {
				t.Error("not internal")
			}
		}},
		{name: "dynamic internal", mod: func(p *bgpmodel.Peer) { p.PeerASN = 0; p.DynamicASN = bgpmodel.DynamicASNInternal }, check: func(t *testing.T, c sessionConfig) {
			if !c.internal {
				t.Error("not internal")
			}
		}},
		{name: "dynamic external", mod: func(p *bgpmodel.Peer) { p.PeerASN = 0; p.DynamicASN = bgpmodel.DynamicASNExternal }},
		{name: "no name", mod: func(p *bgpmodel.Peer) { p.Name = "" }, errSub: "name", is: ErrInvalidPeer},
		{name: "zoned", mod: func(p *bgpmodel.Peer) { p.Address = netip.MustParseAddr("fe80::1%eth0") }, errSub: "unzoned", is: ErrInvalidPeer},
		{name: "unnumbered", mod: func(p *bgpmodel.Peer) { p.Address = netip.Addr{}; p.Interface = "eth1" }, check: func(t *testing.T, c sessionConfig) {
			if !c.carries(ipv4) || !c.carries(ipv6) || c.endpoint() != "interface eth1" || c.nextHop4.IsValid() {
				t.Errorf("families %v endpoint %q next hop %s: want both families, RFC 8950 next hop", c.families, c.endpoint(), c.nextHop4)
			}
		}},
		{name: "unnumbered with address", mod: func(p *bgpmodel.Peer) { p.Interface = "eth1" }, errSub: "not both", is: ErrInvalidPeer},
		{name: "unnumbered with source", mod: func(p *bgpmodel.Peer) {
			p.Address, p.Interface, p.SourceAddress = netip.Addr{}, "eth1", netip.MustParseAddr("198.18.0.11")
		}, errSub: "link-local", is: ErrInvalidPeer},
		{name: "unnumbered multihop", mod: func(p *bgpmodel.Peer) { p.Address, p.Interface, p.EBGPMultiHop = netip.Addr{}, "eth1", true }, errSub: "on the link", is: ErrInvalidPeer},
		{name: "unnumbered BFD", mod: func(p *bgpmodel.Peer) {
			p.Address, p.Interface, p.BFD = netip.Addr{}, "eth1", bgpmodel.BFDProfile{Name: "fast"}
		}},
		{name: "port", mod: func(p *bgpmodel.Peer) { p.Port = 1179 }, check: func(t *testing.T, c sessionConfig) {
			if c.addrPort().String() != "198.18.0.1:1179" {
				t.Error(c.addrPort())
			}
		}},
		{name: "router id from source", opts: &Options{}, mod: func(p *bgpmodel.Peer) { p.SourceAddress = netip.MustParseAddr("198.18.0.23") }, check: func(t *testing.T, c sessionConfig) {
			if c.routerID.String() != "198.18.0.23" {
				t.Error(c.routerID)
			}
		}},
		{name: "router id explicit wins", mod: func(p *bgpmodel.Peer) { p.RouterID = netip.MustParseAddr("198.18.9.9") }, check: func(t *testing.T, c sessionConfig) {
			if c.routerID.String() != "198.18.9.9" {
				t.Error(c.routerID)
			}
		}},
		{name: "no router id", opts: &Options{}, errSub: "routerID is required", is: ErrInvalidPeer},
		{name: "ipv6 router id", mod: func(p *bgpmodel.Peer) { p.RouterID = netip.MustParseAddr("2001:db8::1") }, errSub: "IPv4", is: ErrInvalidPeer},
		{name: "hold 3s", mod: func(p *bgpmodel.Peer) { p.HoldTime = 3 * time.Second }, check: func(t *testing.T, c sessionConfig) {
			if c.holdSec != 3 || c.keepSec != 1 {
				t.Error(c.holdSec, c.keepSec)
			}
		}},
		{name: "hold too short", mod: func(p *bgpmodel.Peer) { p.HoldTime = 2 * time.Second }, errSub: "holdTime", is: ErrInvalidPeer},
		{name: "hold fraction", mod: func(p *bgpmodel.Peer) { p.HoldTime = 3500 * time.Millisecond }, errSub: "holdTime", is: ErrInvalidPeer},
		{name: "keepalive >= hold", mod: func(p *bgpmodel.Peer) { p.HoldTime = 9 * time.Second; p.KeepaliveTime = 9 * time.Second }, errSub: "keepaliveTime", is: ErrInvalidPeer},
		{name: "connect fraction", mod: func(p *bgpmodel.Peer) { p.ConnectTime = 1500 * time.Millisecond }, errSub: "connectTime", is: ErrInvalidPeer},
		{name: "long password", mod: func(p *bgpmodel.Peer) { p.Password = strings.Repeat("x", 81) }, errSub: "81 bytes", is: ErrInvalidPeer},
		{name: "bfd defaults", mod: func(p *bgpmodel.Peer) { p.BFD.Name = "fast" }, check: func(t *testing.T, c sessionConfig) {
			if !c.BFD.Enabled() {
				t.Error(c.BFD)
			}
		}},
		{name: "bfd multiplier", mod: func(p *bgpmodel.Peer) { p.BFD = bgpmodel.BFDProfile{Name: "fast", DetectMultiplier: 1} }, errSub: `bfdProfile "fast": bfd: detectMultiplier 1`, is: ErrInvalidPeer},
		{name: "bfd interval", mod: func(p *bgpmodel.Peer) { p.BFD = bgpmodel.BFDProfile{Name: "fast", TransmitInterval: time.Millisecond} }, errSub: "transmitInterval 1ms", is: ErrInvalidPeer},
		{name: "vrf", mod: func(p *bgpmodel.Peer) { p.VRF = "red" }, errSub: "VRF", is: ErrUnsupported},
		{name: "dual stack v4 needs v6 next hop", mod: func(p *bgpmodel.Peer) { p.DualStack = true }, errSub: "IPv6 next hop", is: ErrInvalidPeer},
		{name: "dual stack v4", mod: func(p *bgpmodel.Peer) { p.DualStack = true; p.IPv6NextHop = netip.MustParseAddr("2001:db8::11") }, check: func(t *testing.T, c sessionConfig) {
			if !c.carries(ipv4) || !c.carries(ipv6) || c.nextHop6.String() != "2001:db8::11" {
				t.Error(c.families, c.nextHop6)
			}
		}},
		{name: "dual stack v6 without v4 next hop", mod: func(p *bgpmodel.Peer) { p.Address = netip.MustParseAddr("2001:db8::1"); p.DualStack = true }, check: func(t *testing.T, c sessionConfig) {
			if !c.carries(ipv4) || !c.carries(ipv6) || c.nextHop4.IsValid() {
				t.Error(c.families, c.nextHop4)
			}
		}},
		{name: "v6 next hop wrong family", mod: func(p *bgpmodel.Peer) { p.IPv6NextHop = netip.MustParseAddr("198.18.0.11") }, errSub: "not an IPv6", is: ErrInvalidPeer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := validPeer()
			if tc.mod != nil {
				tc.mod(&p)
			}
			opts := testOpts
			if tc.opts != nil {
				opts = *tc.opts
			}
			c, err := resolvePeer(p, opts)
			if tc.errSub == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.check != nil {
					tc.check(t, c)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Fatalf("error %v, want one containing %q", err, tc.errSub)
			}
			if !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

func TestResolvePeerNeverPrintsPassword(t *testing.T) {
	p := validPeer()
	p.Password = strings.Repeat("s3cr3t", 20)
	p.VRF = "x"
	_, err := resolvePeer(p, testOpts)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error %v leaks the password or is nil", err)
	}
}

func TestResolvePeersDuplicates(t *testing.T) {
	a := validPeer()
	b := validPeer()
	b.Name = "y-same-address"
	c := validPeer()
	c.Name = "c"
	c.Address = netip.MustParseAddr("198.18.0.2")
	d := c
	d.Address = netip.MustParseAddr("198.18.0.3")
	bad := validPeer()
	bad.Name = "z-bad"
	bad.VRF = "red"
	ok, errs := resolvePeers([]bgpmodel.Peer{d, b, a, c, bad}, testOpts)
	if _, found := ok["tor"]; !found || len(ok) != 1 {
		t.Errorf("valid peers %v, want only tor", keys(ok))
	}
	for _, name := range []string{"y-same-address", "c", "z-bad"} {
		if errs[name] == nil {
			t.Errorf("no error for %s", name)
		}
	}
	if !errors.Is(errs["c"], ErrDuplicatePeer) || !errors.Is(errs["y-same-address"], ErrDuplicatePeer) || !errors.Is(errs["z-bad"], ErrUnsupported) {
		t.Errorf("wrong error kinds: %v", errs)
	}
	if s := errs.Error(); !strings.Contains(s, `peer "c"`) || !strings.Contains(s, `peer "z-bad"`) {
		t.Errorf("PeerErrors.Error() = %s", s)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// Unnumbered peers are told apart by interface: two on one interface
// are duplicates (one link has one neighbour), on two interfaces not.
func TestResolvePeersUnnumberedDuplicates(t *testing.T) {
	un := func(name, ifname string) bgpmodel.Peer {
		p := validPeer()
		p.Name, p.Address, p.Interface = name, netip.Addr{}, ifname
		return p
	}
	ok, errs := resolvePeers([]bgpmodel.Peer{un("a", "eth1"), un("b", "eth2"), un("c", "eth1")}, testOpts)
	if len(ok) != 2 || ok["a"].Interface != "eth1" || ok["b"].Interface != "eth2" {
		t.Errorf("accepted %v", ok)
	}
	if !errors.Is(errs["c"], ErrDuplicatePeer) || !strings.Contains(errs["c"].Error(), "interface eth1") {
		t.Errorf("errors %v, want c refused as a duplicate of a on eth1", errs)
	}
}
