package layer2

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/arp"
	"github.com/mdlayher/packet"
)

// arpConn is one interface's ARP socket. It is an AF_PACKET socket rather
// than arp.Client because arp.Dial insists on an IPv4 address on the
// interface, and a LAN interface that only carries LoadBalancer IPs need
// not have one; the packets themselves are mdlayher/arp's.
type arpConn struct {
	c   *packet.Conn
	mac net.HardwareAddr
}

func listenARP(ifi *net.Interface) (*arpConn, error) {
	c, err := packet.Listen(ifi, packet.Raw, etherTypeARP, &packet.Config{Filter: arpFilter})
	if err != nil {
		return nil, fmt.Errorf("arp socket on %s: %w", ifi.Name, err)
	}
	return &arpConn{c: c, mac: ifi.HardwareAddr}, nil
}

func (c *arpConn) Close() error { return c.c.Close() }

var errNotARP = errors.New("not an Ethernet/IPv4 ARP request or reply")

// read returns the next ARP request or reply and the Ethernet source it
// came from. Malformed frames give errNotARP; other errors are the
// socket's.
func (c *arpConn) read(buf []byte) (*arp.Packet, net.HardwareAddr, error) {
	n, _, err := c.c.ReadFrom(buf)
	if err != nil {
		return nil, nil, err
	}
	p, src, err := parseARP(buf[:n])
	if err == nil && bytes.Equal(src, c.mac) {
		err = errNotARP // our own frame looped back
	}
	return p, src, err
}

func parseARP(frame []byte) (*arp.Packet, net.HardwareAddr, error) {
	if len(frame) < ethHeaderLen || binary.BigEndian.Uint16(frame[12:14]) != etherTypeARP {
		return nil, nil, errNotARP
	}
	p := new(arp.Packet)
	if err := p.UnmarshalBinary(frame[ethHeaderLen:]); err != nil {
		return nil, nil, errNotARP
	}
	if p.HardwareType != 1 || p.ProtocolType != 0x0800 || p.HardwareAddrLength != 6 || p.IPLength != 4 ||
		(p.Operation != arp.OperationRequest && p.Operation != arp.OperationReply) {
		return nil, nil, errNotARP
	}
	return p, ethSource(frame), nil
}

// reply answers req for ip, to the Ethernet address the request came from.
func (c *arpConn) reply(req *arp.Packet, from net.HardwareAddr, ip netip.Addr) error {
	p, err := arp.NewPacket(arp.OperationReply, c.mac, ip, req.SenderHardwareAddr, req.SenderIP)
	if err != nil {
		return err
	}
	return c.write(from, p)
}

// gratuitous broadcasts ip's binding in both forms hosts accept: a request
// for ip from ip (RFC 5227's announcement) and a reply to the broadcast
// address, since some stacks only update their cache from one of them.
// It returns how many frames went out.
func (c *arpConn) gratuitous(ip netip.Addr) (int, error) {
	sent := 0
	for _, f := range []struct {
		op arp.Operation
		th net.HardwareAddr
	}{{arp.OperationRequest, ethZero}, {arp.OperationReply, ethBroadcast}} {
		p, err := arp.NewPacket(f.op, c.mac, ip, f.th, ip)
		if err != nil {
			return sent, err
		}
		if err := c.write(ethBroadcast, p); err != nil {
			return sent, err
		}
		sent++
	}
	return sent, nil
}

// probe broadcasts an RFC 5227 ARP probe for ip: a request with sender
// IP 0.0.0.0, so that no neighbour learns a binding from it, which any
// host using ip answers (Linux does, to our MAC).
func (c *arpConn) probe(ip netip.Addr) error {
	p, err := arp.NewPacket(arp.OperationRequest, c.mac, netip.IPv4Unspecified(), ethZero, ip)
	if err != nil {
		return err
	}
	return c.write(ethBroadcast, p)
}

func (c *arpConn) write(dst net.HardwareAddr, p *arp.Packet) error {
	b, err := p.MarshalBinary()
	if err != nil {
		return err
	}
	if err := c.c.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return err
	}
	_, err = c.c.WriteTo(ethFrame(dst, c.mac, etherTypeARP, b), &packet.Addr{HardwareAddr: dst})
	return err
}
