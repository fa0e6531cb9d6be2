package layer2

import (
	"bytes"
	"net"
	"net/netip"
	"testing"

	"github.com/go-logr/logr"
	"github.com/mdlayher/arp"
	"github.com/mdlayher/ndp"
	"github.com/prometheus/client_golang/prometheus"
)

var (
	ourMAC    = net.HardwareAddr{0x02, 0xaa, 0, 0, 0, 1}
	clientMAC = net.HardwareAddr{0x02, 0xbb, 0, 0, 0, 2}
	clientLL  = netip.MustParseAddr("fe80::bb:ff:fe00:2")
)

func TestParseARP(t *testing.T) {
	req, _ := arp.NewPacket(arp.OperationRequest, clientMAC, netip.MustParseAddr("198.18.0.1"), ethZero, ipV4)
	b, _ := req.MarshalBinary()
	frame := ethFrame(ethBroadcast, clientMAC, etherTypeARP, b)
	if len(frame) != minFrameLen {
		t.Errorf("frame is %d bytes, want padding to %d", len(frame), minFrameLen)
	}
	p, from, err := parseARP(frame)
	if err != nil || p.Operation != arp.OperationRequest || p.TargetIP != ipV4 || !bytes.Equal(from, clientMAC) {
		t.Fatalf("parseARP = %+v, %v, %v", p, from, err)
	}

	reply, _ := arp.NewPacket(arp.OperationReply, clientMAC, netip.MustParseAddr("198.18.0.1"), ourMAC, ipV4)
	b, _ = reply.MarshalBinary()
	if p, _, err := parseARP(ethFrame(ourMAC, clientMAC, etherTypeARP, b)); err != nil || p.Operation != arp.OperationReply {
		t.Errorf("an ARP reply: %+v, %v", p, err)
	}
	b[7] = 3 // RARP request
	if _, _, err := parseARP(ethFrame(ourMAC, clientMAC, etherTypeARP, b)); err == nil {
		t.Error("a RARP request parsed")
	}
	if _, _, err := parseARP(frame[:20]); err == nil {
		t.Error("a truncated frame parsed")
	}
}

func solicitationFrame(t *testing.T, src, dst netip.Addr, target netip.Addr, opts []ndp.Option, hop byte) []byte {
	t.Helper()
	icmp, err := ndp.MarshalMessageChecksum(&ndp.NeighborSolicitation{TargetAddress: target, Options: opts}, src, dst)
	if err != nil {
		t.Fatal(err)
	}
	ip := ipv6Packet(src, dst, icmp)
	ip[7] = hop
	d := dst.As16()
	return ethFrame(net.HardwareAddr{0x33, 0x33, d[12], d[13], d[14], d[15]}, clientMAC, etherTypeIPv6, ip)
}

func TestParseSolicitation(t *testing.T) {
	snm, _ := ndp.SolicitedNodeMulticast(ipV6)
	sll := []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: clientMAC}}

	s, err := parseND(solicitationFrame(t, clientLL, snm, ipV6, sll, 255))
	if err != nil || s.advert || s.target != ipV6 || s.src != clientLL || !bytes.Equal(s.mac, clientMAC) {
		t.Fatalf("parseND = %+v, %v", s, err)
	}
	dad, err := parseND(solicitationFrame(t, netip.IPv6Unspecified(), snm, ipV6, nil, 255))
	if err != nil || !dad.src.IsUnspecified() {
		t.Fatalf("DAD probe: %+v, %v", dad, err)
	}

	corrupt := solicitationFrame(t, clientLL, snm, ipV6, sll, 255)
	corrupt[len(corrupt)-1] ^= 0xff
	for name, frame := range map[string][]byte{
		"bad checksum":         corrupt,
		"hop limit 64":         solicitationFrame(t, clientLL, snm, ipV6, sll, 64),
		"multicast target":     solicitationFrame(t, clientLL, snm, netip.MustParseAddr("ff02::1"), nil, 255),
		"DAD probe with SLLAO": solicitationFrame(t, netip.IPv6Unspecified(), snm, ipV6, sll, 255),
		"truncated":            solicitationFrame(t, clientLL, snm, ipV6, sll, 255)[:60],
	} {
		if _, err := parseND(frame); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAdvertisement(t *testing.T) {
	for _, solicited := range []bool{true, false} {
		dst, dstMAC := clientLL, clientMAC
		if !solicited {
			dst, dstMAC = allNodes, allNodesMAC
		}
		frame, err := advertisement(ourMAC, ipV6, dst, dstMAC, solicited)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(frame[0:6], dstMAC) || !bytes.Equal(frame[6:12], ourMAC) {
			t.Errorf("Ethernet header %x", frame[:14])
		}
		ip := frame[ethHeaderLen:]
		if ip[7] != 255 || netip.AddrFrom16([16]byte(ip[8:24])) != ipV6 || netip.AddrFrom16([16]byte(ip[24:40])) != dst {
			t.Errorf("IPv6 header %x", ip[:40])
		}
		msg := ip[ipv6Len:]
		if icmpv6Checksum(ipV6, dst, msg) != 0 {
			t.Error("checksum does not verify")
		}
		m, err := ndp.ParseMessage(msg)
		if err != nil {
			t.Fatal(err)
		}
		na := m.(*ndp.NeighborAdvertisement)
		lla, ok := na.Options[0].(*ndp.LinkLayerAddress)
		if na.TargetAddress != ipV6 || !na.Override || na.Solicited != solicited || na.Router ||
			!ok || lla.Direction != ndp.Target || !bytes.Equal(lla.Addr, ourMAC) {
			t.Errorf("advertisement %+v (option %+v)", na, na.Options[0])
		}
	}
}

// Without Run there are no interfaces: the set is kept and reported, with
// addresses normalized.
func TestSetAnnouncedWithoutInterfaces(t *testing.T) {
	reg := prometheus.NewRegistry()
	a, err := New(logr.Discard(), reg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a.SetAnnounced(map[netip.Addr]Announcement{
		netip.MustParseAddr("::ffff:198.18.0.100"): {},
		netip.MustParseAddr("2001:db8::100%eth0"):  {Interfaces: []string{"eth0"}},
		{}:                             {},
		netip.MustParseAddr("ff02::1"): {},
	})
	got := a.Announced()
	if len(got) != 2 || got[ipV4] == nil || got[ipV6] == nil || len(got[ipV4]) != 0 {
		t.Errorf("Announced() = %v, want %s and %s carried nowhere", got, ipV4, ipV6)
	}
	if g := gauge(t, reg, "barelb_layer2_announced_ips"); g != 2 {
		t.Errorf("announced_ips = %v, want 2", g)
	}
	a.SetAnnounced(nil)
	if g := gauge(t, reg, "barelb_layer2_announced_ips"); g != 0 {
		t.Errorf("announced_ips = %v after dropping everything, want 0", g)
	}
	if _, err := New(logr.Discard(), nil, Options{}); err != nil {
		t.Errorf("New without a registry: %v", err)
	}
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// A duplicate address detection probe goes from :: to the target's
// solicited-node group (and its Ethernet group address) without a
// link-layer option, and parses back as one; an advertisement parses with
// the MAC from its Target Link-Layer option.
func TestDADProbeAndAdvertisementParse(t *testing.T) {
	frame, err := dadProbe(ourMAC, ipV6)
	if err != nil {
		t.Fatal(err)
	}
	if want := (net.HardwareAddr{0x33, 0x33, 0xff, 0x00, 0x01, 0x00}); !bytes.Equal(frame[0:6], want) {
		t.Errorf("probe goes to %s, want %s", net.HardwareAddr(frame[0:6]), want)
	}
	m, err := parseND(frame)
	if err != nil || m.advert || m.target != ipV6 || !m.src.IsUnspecified() || !bytes.Equal(m.mac, ourMAC) {
		t.Fatalf("probe parses as %+v, %v", m, err)
	}
	if dst := netip.AddrFrom16([16]byte(frame[ethHeaderLen+24 : ethHeaderLen+40])); dst != netip.MustParseAddr("ff02::1:ff00:100") {
		t.Errorf("probe sent to %s", dst)
	}
	na, err := advertisement(clientMAC, ipV6, allNodes, allNodesMAC, false)
	if err != nil {
		t.Fatal(err)
	}
	m, err = parseND(na)
	if err != nil || !m.advert || m.target != ipV6 || !bytes.Equal(m.mac, clientMAC) {
		t.Fatalf("advertisement parses as %+v, %v", m, err)
	}
}
