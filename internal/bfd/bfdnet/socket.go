package bfdnet

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Source ports of RFC 5881 §4.
const (
	minSourcePort = 49152
	maxSourcePort = 65535
)

// sendTTL is the TTL / hop limit of every packet sent (RFC 5881 §5).
const sendTTL = 255

// inbound is one received datagram with what the kernel told about it.
type inbound struct {
	data    []byte
	src     netip.Addr
	dst     netip.Addr
	ifIndex int
	ttl     int
}

// listener is a receive socket on 3784 or 4784 for one family.
type listener struct {
	conn     net.PacketConn
	p4       *ipv4.PacketConn
	p6       *ipv6.PacketConn
	multiHop bool
}

func listen(multiHop, v6 bool) (*listener, error) {
	port := SingleHopPort
	if multiHop {
		port = MultiHopPort
	}
	network, addr := "udp4", fmt.Sprintf("0.0.0.0:%d", port)
	if v6 {
		// udp6 sets IPV6_V6ONLY, so the IPv4 listener keeps IPv4 packets.
		network, addr = "udp6", fmt.Sprintf("[::]:%d", port)
	}
	conn, err := net.ListenPacket(network, addr)
	if err != nil {
		return nil, fmt.Errorf("bfdnet: listen on %s %s: %w", network, addr, err)
	}
	l := &listener{conn: conn, multiHop: multiHop}
	if v6 {
		l.p6 = ipv6.NewPacketConn(conn)
		err = l.p6.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true)
	} else {
		l.p4 = ipv4.NewPacketConn(conn)
		err = l.p4.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true)
	}
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("bfdnet: ask for TTL and destination of received packets on %s: %w", addr, err)
	}
	return l, nil
}

// read returns the next datagram; buf is reused by the caller after the
// packet has been decoded.
func (l *listener) read(buf []byte) (inbound, error) {
	var in inbound
	var n int
	var src net.Addr
	var err error
	if l.p6 != nil {
		var cm *ipv6.ControlMessage
		n, cm, src, err = l.p6.ReadFrom(buf)
		if cm != nil {
			in.ttl, in.ifIndex = cm.HopLimit, cm.IfIndex
			in.dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	} else {
		var cm *ipv4.ControlMessage
		n, cm, src, err = l.p4.ReadFrom(buf)
		if cm != nil {
			in.ttl, in.ifIndex = cm.TTL, cm.IfIndex
			in.dst, _ = netip.AddrFromSlice(cm.Dst)
		}
	}
	if err != nil {
		return in, err
	}
	if ua, ok := src.(*net.UDPAddr); ok {
		in.src = ua.AddrPort().Addr().Unmap().WithZone("")
	}
	in.dst = in.dst.Unmap()
	in.data = buf[:n]
	return in, nil
}

// sender is a session's own send socket.
type sender struct {
	conn *net.UDPConn
	dst  netip.AddrPort
}

// dial opens the session's send socket: bound to c.Local (or the
// unspecified address) and a free port of 49152-65535 tried in random
// order, TTL 255, and bound to c.Interface when set.
//
// Link-local zones are given by index, not name: Go's zone cache is
// process-wide and may hold another network namespace's interfaces.
func dial(c Config, ifIndex int) (*sender, error) {
	zone := ""
	if ifIndex != 0 {
		zone = strconv.Itoa(ifIndex)
	}
	port := SingleHopPort
	if c.MultiHop {
		port = MultiHopPort
	}
	local := c.Local
	if !local.IsValid() {
		local = netip.IPv4Unspecified()
		if c.Remote.Is6() {
			local = netip.IPv6Unspecified()
		}
	}
	if local.Is6() && local.IsLinkLocalUnicast() {
		local = local.WithZone(zone)
	}
	network := "udp4"
	if c.Remote.Is6() {
		network = "udp6"
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			if c.Remote.Is6() {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, sendTTL)
			} else {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TTL, sendTTL)
			}
			if serr == nil && c.Interface != "" {
				serr = unix.BindToDevice(int(fd), c.Interface)
			}
		})
		return errors.Join(err, serr)
	}}
	span := maxSourcePort - minSourcePort + 1
	start := rand.IntN(span)
	var lastErr error
	// Try up to 64 ports: with a few hundred sessions on a node a free
	// one is found within a handful of attempts.
	for i := range 64 {
		p := minSourcePort + (start+i*7919)%span
		addr := netip.AddrPortFrom(local, uint16(p)).String()
		pc, err := lc.ListenPacket(context.Background(), network, addr)
		if err == nil {
			return &sender{conn: pc.(*net.UDPConn), dst: netip.AddrPortFrom(withZone(c.Remote, zone), uint16(port))}, nil
		}
		lastErr = err
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("bfdnet: open a send socket from %v for %v: %w", local, c.Remote, lastErr)
}

func (s *sender) send(b []byte) error {
	_, err := s.conn.WriteToUDPAddrPort(b, s.dst)
	return err
}

func (s *sender) close() { s.conn.Close() }

// withZone sets zone on IPv6 link-local addresses only.
func withZone(a netip.Addr, zone string) netip.Addr {
	if a.Is6() && a.IsLinkLocalUnicast() {
		return a.WithZone(zone)
	}
	return a
}
