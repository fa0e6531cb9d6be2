package members

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// NodeMeta is what a speaker tells the others about itself in
// memberlist's node metadata: its LAN interfaces, so that every speaker
// knows every speaker's MACs (a handover is never an address conflict)
// and which nodes can carry an IP right now (link-aware election).
type NodeMeta struct {
	Interfaces []Interface
	// Settling: this node came back recently (speaker start, a link
	// change, cut off from every other member) and should not take
	// addresses back yet (damped fail-back). The node itself decides
	// and gossips it, so every speaker agrees on it without comparing
	// clocks.
	Settling bool
}

// Interface is one LAN interface of a node.
type Interface struct {
	Name string
	MAC  net.HardwareAddr
	// Up: usable for announcements (up, with carrier).
	Up bool
	// Prefixes are the subnets on the interface.
	Prefixes []netip.Prefix
}

// Equal reports whether m and o say the same.
func (m NodeMeta) Equal(o NodeMeta) bool {
	return m.Settling == o.Settling && slices.EqualFunc(m.Interfaces, o.Interfaces, func(a, b Interface) bool {
		return a.Name == b.Name && a.Up == b.Up && string(a.MAC) == string(b.MAC) && slices.Equal(a.Prefixes, b.Prefixes)
	})
}

// MaxMetaSize is memberlist's limit on node metadata.
const MaxMetaSize = 512

// metaVersion is the first byte of the encoding. A reader refuses other
// versions (the node's metadata is then unknown, see Meta) and ignores
// bytes after the fields it knows, so version 1 can grow at its end.
const metaVersion = 1

// ErrMetaTooLarge is returned for metadata that does not fit MaxMetaSize.
var ErrMetaTooLarge = errors.New("members: node metadata exceeds memberlist's 512 bytes")

// EncodeMeta encodes m compactly:
//
//	version(1) count(1) { nameLen(1) name flags(1: bit 0 up) macLen(1) mac
//	                      prefixCount(1) { addrLen(1: 4 or 16) addr bits(1) } }
//	nodeFlags(1: bit 0 settling)
//
// nodeFlags came after the first release of version 1: a reader that
// does not know it ignores it, and one that finds it missing reads zero.
//
// A node with two interfaces and a subnet of each family on each takes
// under 100 bytes.
func EncodeMeta(m NodeMeta) ([]byte, error) {
	if len(m.Interfaces) > 255 {
		return nil, ErrMetaTooLarge
	}
	b := []byte{metaVersion, byte(len(m.Interfaces))}
	for _, i := range m.Interfaces {
		if len(i.Name) > 255 || len(i.MAC) > 255 || len(i.Prefixes) > 255 {
			return nil, fmt.Errorf("members: interface %q has a field too long to encode", i.Name)
		}
		b = append(b, byte(len(i.Name)))
		b = append(b, i.Name...)
		var flags byte
		if i.Up {
			flags |= 1
		}
		b = append(b, flags, byte(len(i.MAC)))
		b = append(b, i.MAC...)
		b = append(b, byte(len(i.Prefixes)))
		for _, p := range i.Prefixes {
			if !p.IsValid() {
				return nil, fmt.Errorf("members: interface %q has an invalid prefix", i.Name)
			}
			a := p.Addr().Unmap().AsSlice()
			b = append(b, byte(len(a)))
			b = append(b, a...)
			b = append(b, byte(p.Bits()))
		}
	}
	var nodeFlags byte
	if m.Settling {
		nodeFlags |= 1
	}
	b = append(b, nodeFlags)
	if len(b) > MaxMetaSize {
		return nil, fmt.Errorf("%w (%d)", ErrMetaTooLarge, len(b))
	}
	return b, nil
}

var errShort = errors.New("members: truncated node metadata")

// DecodeMeta decodes what EncodeMeta made.
func DecodeMeta(b []byte) (NodeMeta, error) {
	if len(b) == 0 {
		return NodeMeta{}, errors.New("members: no node metadata")
	}
	if b[0] != metaVersion {
		return NodeMeta{}, fmt.Errorf("members: node metadata version %d, want %d", b[0], metaVersion)
	}
	r := reader{b: b[1:]}
	n := r.byte()
	var m NodeMeta
	for k := 0; k < int(n) && r.err == nil; k++ {
		var i Interface
		i.Name = string(r.bytes(int(r.byte())))
		i.Up = r.byte()&1 != 0
		if mac := r.bytes(int(r.byte())); len(mac) > 0 {
			i.MAC = net.HardwareAddr(slices.Clone(mac))
		}
		np := int(r.byte())
		for j := 0; j < np && r.err == nil; j++ {
			a, ok := netip.AddrFromSlice(r.bytes(int(r.byte())))
			bits := int(r.byte())
			if r.err != nil {
				break
			}
			p := netip.PrefixFrom(a, bits)
			if !ok || !p.IsValid() {
				return NodeMeta{}, fmt.Errorf("members: interface %q: invalid prefix in node metadata", i.Name)
			}
			i.Prefixes = append(i.Prefixes, p)
		}
		m.Interfaces = append(m.Interfaces, i)
	}
	if r.err != nil {
		return NodeMeta{}, r.err
	}
	if len(r.b) > 0 {
		m.Settling = r.byte()&1 != 0
	}
	return m, nil
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) byte() byte {
	if b := r.bytes(1); len(b) == 1 {
		return b[0]
	}
	return 0
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n > len(r.b) {
		r.err = errShort
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}
