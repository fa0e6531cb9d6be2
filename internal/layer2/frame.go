package layer2

import (
	"encoding/binary"
	"net"
	"net/netip"
	"time"

	"golang.org/x/net/bpf"
)

// Ethernet framing is done by hand: both responders read and write whole
// frames on AF_PACKET sockets, and the header is 14 fixed bytes (the
// kernel strips VLAN tags into packet metadata before a socket bound to a
// protocol sees the frame).
const (
	etherTypeARP  = 0x0806
	etherTypeIPv6 = 0x86dd

	ethHeaderLen = 14
	ipv6Len      = 40
	// minFrameLen is the shortest Ethernet frame without its FCS; shorter
	// frames are padded so that NICs that do not pad still send valid ones.
	minFrameLen = 60

	protoICMPv6 = 58
	// ndpHopLimit is the only hop limit a Neighbor Discovery packet may
	// carry (RFC 4861 7.1.1): it proves the sender is on the link.
	ndpHopLimit = 255
	icmpTypeNS  = 135
	icmpTypeNA  = 136
)

var (
	ethBroadcast = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ethZero      = net.HardwareAddr{0, 0, 0, 0, 0, 0}
	// allNodes is ff02::1 and its Ethernet group address, where
	// unsolicited advertisements and answers to DAD probes go.
	allNodes    = netip.MustParseAddr("ff02::1")
	allNodesMAC = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1}
)

// writeTimeout bounds a send: answers are sent holding the announcer's
// read lock, and a wedged transmit queue must not hold up SetAnnounced.
const writeTimeout = 200 * time.Millisecond

// ethFrame prepends an Ethernet header to payload and pads the result to
// the minimum frame length.
func ethFrame(dst, src net.HardwareAddr, etherType uint16, payload []byte) []byte {
	n := max(ethHeaderLen+len(payload), minFrameLen)
	b := make([]byte, n)
	copy(b[0:6], dst)
	copy(b[6:12], src)
	binary.BigEndian.PutUint16(b[12:14], etherType)
	copy(b[ethHeaderLen:], payload)
	return b
}

// ethSource returns the source MAC of a frame of at least ethHeaderLen bytes.
func ethSource(frame []byte) net.HardwareAddr {
	return net.HardwareAddr(append([]byte(nil), frame[6:12]...))
}

// ipv6Packet wraps an ICMPv6 message (checksum already filled in) in an
// IPv6 header with the Neighbor Discovery hop limit.
func ipv6Packet(src, dst netip.Addr, icmp []byte) []byte {
	b := make([]byte, ipv6Len+len(icmp))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:6], uint16(len(icmp)))
	b[6] = protoICMPv6
	b[7] = ndpHopLimit
	s, d := src.As16(), dst.As16()
	copy(b[8:24], s[:])
	copy(b[24:40], d[:])
	copy(b[ipv6Len:], icmp)
	return b
}

// icmpv6Checksum computes the ICMPv6 checksum of msg (with its checksum
// field as it is) over the IPv6 pseudo-header; a received message is
// intact when the result is 0.
func icmpv6Checksum(src, dst netip.Addr, msg []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	var pl [8]byte
	binary.BigEndian.PutUint32(pl[0:4], uint32(len(msg)))
	pl[7] = protoICMPv6
	add(pl[:])
	add(msg)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// Socket filters. The kernel runs them before a frame is queued, so a
// responder on a busy node wakes up only for what it may answer: frames
// the kernel would accept for this host (unicast to us, broadcast,
// multicast), never our own outgoing frames or, in promiscuous mode,
// frames for other hosts.
//
// pktTypeMaxInbound is PACKET_MULTICAST: PACKET_HOST, PACKET_BROADCAST and
// PACKET_MULTICAST are 0, 1 and 2; PACKET_OTHERHOST and PACKET_OUTGOING
// come after.
const pktTypeMaxInbound = 2

const acceptAll = 0x40000

// arpFilter accepts inbound ARP requests and replies: requests to
// answer, and (for conflict detection) replies and requests whose sender
// claims an address this node announces or probes.
var arpFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: pktTypeMaxInbound, SkipTrue: 4},
	bpf.LoadAbsolute{Off: ethHeaderLen + 6, Size: 2}, // ARP operation
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: 2, SkipTrue: 1},
	bpf.RetConstant{Val: acceptAll},
	bpf.RetConstant{Val: 0},
})

// neighborDiscoveryFilter accepts inbound IPv6 packets that carry an
// ICMPv6 Neighbor Solicitation or Advertisement directly after the fixed
// header, with the hop limit Neighbor Discovery requires. Solicitations
// are answered; advertisements only matter to conflict detection.
var neighborDiscoveryFilter = mustAssemble([]bpf.Instruction{
	bpf.LoadExtension{Num: bpf.ExtType},
	bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: pktTypeMaxInbound, SkipTrue: 8},
	bpf.LoadAbsolute{Off: ethHeaderLen + 6, Size: 1}, // next header
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: protoICMPv6, SkipTrue: 6},
	bpf.LoadAbsolute{Off: ethHeaderLen + 7, Size: 1}, // hop limit
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: ndpHopLimit, SkipTrue: 4},
	bpf.LoadAbsolute{Off: ethHeaderLen + ipv6Len, Size: 1}, // ICMPv6 type
	bpf.JumpIf{Cond: bpf.JumpEqual, Val: icmpTypeNS, SkipTrue: 1},
	bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: icmpTypeNA, SkipTrue: 1},
	bpf.RetConstant{Val: acceptAll},
	bpf.RetConstant{Val: 0},
})

func mustAssemble(prog []bpf.Instruction) []bpf.RawInstruction {
	raw, err := bpf.Assemble(prog)
	if err != nil {
		panic(err)
	}
	return raw
}
