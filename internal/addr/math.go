package addr

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
)

// u128 is an address as an unsigned 128-bit integer, so range sizes and
// offsets can be computed without enumerating addresses. IPv4 addresses
// use only the low 32 bits.
type u128 struct{ hi, lo uint64 }

func toU128(a netip.Addr) u128 {
	if a.Is4() {
		b := a.As4()
		return u128{lo: uint64(binary.BigEndian.Uint32(b[:]))}
	}
	b := a.As16()
	return u128{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:])}
}

func fromU128(v u128, f Family) netip.Addr {
	if f == IPv4 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(v.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], v.hi)
	binary.BigEndian.PutUint64(b[8:], v.lo)
	return netip.AddrFrom16(b)
}

func (x u128) sub(y u128) u128 {
	lo, borrow := bits.Sub64(x.lo, y.lo, 0)
	hi, _ := bits.Sub64(x.hi, y.hi, borrow)
	return u128{hi, lo}
}

func (x u128) add(y u128) (u128, bool) {
	lo, carry := bits.Add64(x.lo, y.lo, 0)
	hi, carry := bits.Add64(x.hi, y.hi, carry)
	return u128{hi, lo}, carry != 0
}

func (x u128) leadingZeros() int {
	if x.hi != 0 {
		return bits.LeadingZeros64(x.hi)
	}
	return 64 + bits.LeadingZeros64(x.lo)
}

// saturate returns x as a uint64, or math.MaxUint64 when it does not fit.
func (x u128) saturate() uint64 {
	if x.hi != 0 {
		return math.MaxUint64
	}
	return x.lo
}

// Distance returns the number of steps from a to b (b - a), saturating at
// math.MaxUint64. It returns 0 when b is before a or the families differ.
func Distance(a, b netip.Addr) uint64 {
	if FamilyOf(a) != FamilyOf(b) || FamilyOf(a) == 0 || b.Less(a) {
		return 0
	}
	return toU128(b).sub(toU128(a)).saturate()
}

// Add returns a + n. ok is false when the result would leave the address
// space of a's family (or a is invalid); the zone of a is dropped.
func Add(a netip.Addr, n uint64) (sum netip.Addr, ok bool) {
	f := FamilyOf(a)
	if f == 0 {
		return netip.Addr{}, false
	}
	v, carry := toU128(a).add(u128{lo: n})
	if carry || (f == IPv4 && v.lo > math.MaxUint32) {
		return netip.Addr{}, false
	}
	return fromU128(v, f), true
}

// Sub returns a - n. ok is false when the result would go below the first
// address of a's family (or a is invalid).
func Sub(a netip.Addr, n uint64) (diff netip.Addr, ok bool) {
	f := FamilyOf(a)
	if f == 0 {
		return netip.Addr{}, false
	}
	x := toU128(a)
	if x.hi == 0 && x.lo < n {
		return netip.Addr{}, false
	}
	return fromU128(x.sub(u128{lo: n}), f), true
}
