package layer2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/mdlayher/packet"
	"golang.org/x/net/ipv6"
)

// ndpConn is one interface's Neighbor Discovery responder. Solicitations
// are read from an AF_PACKET socket because the kernel hands an ICMPv6
// socket only packets addressed to this host: a unicast solicitation for a
// LoadBalancer IP (how a client re-checks a cached neighbour) would never
// reach it. Advertisements are written on the same socket, from the
// LoadBalancer IP itself, as the kernel does for its own addresses.
//
// The ICMPv6 socket of mdlayher/ndp is kept only to join the
// solicited-node multicast group of each announced address: joining sends
// MLD reports, so snooping switches forward the solicitations to us, and
// programs the NIC's multicast filter. It reads nothing.
type ndpConn struct {
	c      *packet.Conn
	groups *ndp.Conn
	mac    net.HardwareAddr
	joined map[netip.Addr]bool
}

func listenNDP(ifi *net.Interface) (*ndpConn, error) {
	c, err := packet.Listen(ifi, packet.Raw, etherTypeIPv6, &packet.Config{Filter: neighborDiscoveryFilter})
	if err != nil {
		return nil, fmt.Errorf("ipv6 socket on %s: %w", ifi.Name, err)
	}
	g, _, err := ndp.Listen(ifi, ndp.Unspecified)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("icmpv6 socket on %s: %w", ifi.Name, err)
	}
	var block ipv6.ICMPFilter
	block.SetAll(true)
	if err := g.SetICMPFilter(&block); err != nil {
		c.Close()
		g.Close()
		return nil, fmt.Errorf("icmpv6 filter on %s: %w", ifi.Name, err)
	}
	return &ndpConn{c: c, groups: g, mac: ifi.HardwareAddr, joined: map[netip.Addr]bool{}}, nil
}

// Close closes both sockets; the kernel leaves the groups with the socket.
func (c *ndpConn) Close() error {
	return errors.Join(c.c.Close(), c.groups.Close())
}

// setGroups joins the solicited-node groups of ips and leaves the others.
// Addresses sharing their last 24 bits share a group.
func (c *ndpConn) setGroups(ips []netip.Addr) error {
	want := map[netip.Addr]bool{}
	for _, ip := range ips {
		g, err := ndp.SolicitedNodeMulticast(ip)
		if err != nil {
			return err
		}
		want[g] = true
	}
	var errs []error
	for g := range c.joined {
		if !want[g] {
			if err := c.groups.LeaveGroup(g); err != nil {
				errs = append(errs, fmt.Errorf("leave %s: %w", g, err))
			}
			delete(c.joined, g)
		}
	}
	for g := range want {
		if !c.joined[g] {
			if err := c.groups.JoinGroup(g); err != nil {
				errs = append(errs, fmt.Errorf("join %s: %w", g, err))
				continue
			}
			c.joined[g] = true
		}
	}
	return errors.Join(errs...)
}

// ndMessage is a received Neighbor Solicitation or Advertisement,
// reduced to what an answer and conflict detection need.
type ndMessage struct {
	advert bool // an advertisement; otherwise a solicitation
	target netip.Addr
	src    netip.Addr // unspecified for a duplicate address probe
	// mac is the link-layer address the sender gives: the Source
	// Link-Layer option of a solicitation, the Target Link-Layer option
	// of an advertisement, else the frame's source.
	mac net.HardwareAddr
}

var errNotND = errors.New("not a valid neighbor solicitation or advertisement")

func (c *ndpConn) read(buf []byte) (ndMessage, error) {
	n, _, err := c.c.ReadFrom(buf)
	if err != nil {
		return ndMessage{}, err
	}
	m, err := parseND(buf[:n])
	if err == nil && bytes.Equal(ethSource(buf[:n]), c.mac) {
		err = errNotND // our own frame looped back
	}
	return m, err
}

// parseND validates a frame as RFC 4861 7.1.1 and 7.1.2 ask (hop limit
// 255, code 0, checksum, unicast target, no source link-layer option in a
// DAD probe) and extracts the message.
func parseND(frame []byte) (ndMessage, error) {
	if len(frame) < ethHeaderLen+ipv6Len || binary.BigEndian.Uint16(frame[12:14]) != etherTypeIPv6 {
		return ndMessage{}, errNotND
	}
	ip := frame[ethHeaderLen:]
	plen := int(binary.BigEndian.Uint16(ip[4:6]))
	if ip[0]>>4 != 6 || ip[6] != protoICMPv6 || ip[7] != ndpHopLimit || len(ip) < ipv6Len+plen {
		return ndMessage{}, errNotND
	}
	src := netip.AddrFrom16([16]byte(ip[8:24]))
	dst := netip.AddrFrom16([16]byte(ip[24:40]))
	msg := ip[ipv6Len : ipv6Len+plen]
	if len(msg) < 4 || (msg[0] != icmpTypeNS && msg[0] != icmpTypeNA) || msg[1] != 0 || icmpv6Checksum(src, dst, msg) != 0 {
		return ndMessage{}, errNotND
	}
	parsed, err := ndp.ParseMessage(msg)
	if err != nil {
		return ndMessage{}, errNotND
	}
	out := ndMessage{src: src, mac: ethSource(frame)}
	var opts []ndp.Option
	want := ndp.Source
	switch m := parsed.(type) {
	case *ndp.NeighborSolicitation:
		out.target, opts = m.TargetAddress, m.Options
	case *ndp.NeighborAdvertisement:
		out.advert, out.target, opts, want = true, m.TargetAddress, m.Options, ndp.Target
	default:
		return ndMessage{}, errNotND
	}
	if out.target.IsMulticast() {
		return ndMessage{}, errNotND
	}
	for _, o := range opts {
		if lla, ok := o.(*ndp.LinkLayerAddress); ok && lla.Direction == want {
			if !out.advert && src.IsUnspecified() {
				return ndMessage{}, errNotND
			}
			out.mac = lla.Addr
		}
	}
	return out, nil
}

// reply answers solicitation s. A DAD probe (unspecified source) gets a
// multicast answer without the Solicited flag, as RFC 4861 7.2.4 requires.
func (c *ndpConn) reply(s ndMessage) error {
	if s.src.IsUnspecified() {
		return c.advertise(s.target, allNodes, allNodesMAC, false)
	}
	return c.advertise(s.target, s.src, s.mac, true)
}

// probe multicasts an RFC 4862 duplicate address detection probe for ip:
// a solicitation from the unspecified address to ip's solicited-node
// group, without a link-layer option. A host using ip answers with a
// multicast advertisement; nobody learns a binding from the probe.
func (c *ndpConn) probe(ip netip.Addr) error {
	b, err := dadProbe(c.mac, ip)
	if err != nil {
		return err
	}
	if err := c.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err = c.c.WriteTo(b, &packet.Addr{HardwareAddr: net.HardwareAddr(b[0:6])})
	return err
}

// dadProbe builds the whole frame of a duplicate address detection probe.
func dadProbe(mac net.HardwareAddr, ip netip.Addr) ([]byte, error) {
	group, err := ndp.SolicitedNodeMulticast(ip)
	if err != nil {
		return nil, err
	}
	icmp, err := ndp.MarshalMessageChecksum(&ndp.NeighborSolicitation{TargetAddress: ip}, netip.IPv6Unspecified(), group)
	if err != nil {
		return nil, err
	}
	g := group.As16()
	dst := net.HardwareAddr{0x33, 0x33, g[12], g[13], g[14], g[15]}
	return ethFrame(dst, mac, etherTypeIPv6, ipv6Packet(netip.IPv6Unspecified(), group, icmp)), nil
}

// gratuitous multicasts an unsolicited advertisement with the Override
// flag, which makes neighbours replace a cached link-layer address.
func (c *ndpConn) gratuitous(ip netip.Addr) error {
	return c.advertise(ip, allNodes, allNodesMAC, false)
}

func (c *ndpConn) advertise(target, dst netip.Addr, dstMAC net.HardwareAddr, solicited bool) error {
	b, err := advertisement(c.mac, target, dst, dstMAC, solicited)
	if err != nil {
		return err
	}
	if err := c.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err = c.c.WriteTo(b, &packet.Addr{HardwareAddr: dstMAC})
	return err
}

// advertisement builds the whole frame of a Neighbor Advertisement for
// target, sent from target itself.
func advertisement(mac net.HardwareAddr, target, dst netip.Addr, dstMAC net.HardwareAddr, solicited bool) ([]byte, error) {
	na := &ndp.NeighborAdvertisement{
		Solicited:     solicited,
		Override:      true,
		TargetAddress: target,
		Options:       []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Target, Addr: mac}},
	}
	icmp, err := ndp.MarshalMessageChecksum(na, target, dst)
	if err != nil {
		return nil, err
	}
	return ethFrame(dstMAC, mac, etherTypeIPv6, ipv6Packet(target, dst, icmp)), nil
}
