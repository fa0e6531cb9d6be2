package addr

import (
	"fmt"
	"net/netip"
)

// Range is an inclusive span of addresses of one family, First <= Last.
// The zero Range is invalid (IsValid reports false); every Range returned
// by this package is valid.
type Range struct {
	First, Last netip.Addr
}

// NewRange checks first and last with the same rules as ParseRange and
// returns the Range between them.
func NewRange(first, last netip.Addr) (Range, error) {
	if err := checkAddr(first, first.String()); err != nil {
		return Range{}, err
	}
	if err := checkAddr(last, last.String()); err != nil {
		return Range{}, err
	}
	return checkRange(first, last, first.String()+"-"+last.String())
}

// SingleAddr returns the Range holding only a.
func SingleAddr(a netip.Addr) Range { return Range{First: a, Last: a} }

// PrefixRange returns the Range covered by p, ignoring host bits.
func PrefixRange(p netip.Prefix) Range {
	p = p.Masked()
	first := p.Addr()
	f := FamilyOf(first)
	host := f.Bits() - p.Bits()
	v := toU128(first)
	// Set the low host bits to get the last address.
	switch {
	case host >= 128:
		v = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		v = u128{v.hi | (1<<(host-64) - 1), ^uint64(0)}
	case host > 0:
		v.lo |= 1<<host - 1
	}
	return Range{First: first, Last: fromU128(v, f)}
}

// IsValid reports whether r is a well-formed Range: both ends valid, of
// one family, unzoned, and First <= Last.
func (r Range) IsValid() bool {
	f := FamilyOf(r.First)
	return f != 0 && f == FamilyOf(r.Last) &&
		r.First.Zone() == "" && r.Last.Zone() == "" &&
		!r.Last.Less(r.First)
}

// Family returns the family of the range's addresses.
func (r Range) Family() Family { return FamilyOf(r.First) }

// Contains reports whether a lies in r. Addresses of the other family,
// including IPv4-mapped IPv6 spellings of IPv4 addresses, are not in an
// IPv4 range.
func (r Range) Contains(a netip.Addr) bool {
	return a.IsValid() && FamilyOf(a) == r.Family() && a.Zone() == "" &&
		!a.Less(r.First) && !r.Last.Less(a)
}

// Overlaps reports whether r and o share at least one address.
func (r Range) Overlaps(o Range) bool {
	return r.Family() == o.Family() && !r.Last.Less(o.First) && !o.Last.Less(r.First)
}

// Intersect returns the addresses in both r and o; ok is false when there
// are none.
func (r Range) Intersect(o Range) (Range, bool) {
	if !r.Overlaps(o) {
		return Range{}, false
	}
	out := r
	if out.First.Less(o.First) {
		out.First = o.First
	}
	if o.Last.Less(out.Last) {
		out.Last = o.Last
	}
	return out, true
}

// Compare orders ranges by family (IPv4 first), then First, then Last.
func (r Range) Compare(o Range) int {
	if c := r.First.Compare(o.First); c != 0 {
		return c
	}
	return r.Last.Compare(o.Last)
}

// Size returns the number of addresses in r, saturating at
// math.MaxUint64: an IPv6 /64 or larger reports math.MaxUint64.
func (r Range) Size() uint64 {
	d := toU128(r.Last).sub(toU128(r.First))
	if d.hi != 0 || d.lo == ^uint64(0) {
		return ^uint64(0)
	}
	return d.lo + 1
}

// Prefix returns the prefix that covers exactly r; ok is false when r is
// not a single CIDR block.
func (r Range) Prefix() (p netip.Prefix, ok bool) {
	if !r.IsValid() {
		return netip.Prefix{}, false
	}
	f := r.Family()
	first, last := toU128(r.First), toU128(r.Last)
	diff := u128{first.hi ^ last.hi, first.lo ^ last.lo}
	host := 128 - diff.leadingZeros() // number of low bits that vary
	// The varying bits must be all zero in First and all one in Last.
	var mask u128
	switch {
	case host >= 128:
		mask = u128{^uint64(0), ^uint64(0)}
	case host >= 64:
		mask = u128{1<<(host-64) - 1, ^uint64(0)}
	default:
		mask = u128{0, 1<<host - 1}
	}
	if first.hi&mask.hi != 0 || first.lo&mask.lo != 0 ||
		last.hi&mask.hi != mask.hi || last.lo&mask.lo != mask.lo {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(r.First, f.Bits()-host), true
}

// String returns the CIDR form when r is exactly one prefix (a single
// address is a /32 or /128), else "first-last". ParseRange accepts the
// result and returns r.
func (r Range) String() string {
	if !r.IsValid() {
		return fmt.Sprintf("invalid Range(%v-%v)", r.First, r.Last)
	}
	if p, ok := r.Prefix(); ok {
		return p.String()
	}
	return r.First.String() + "-" + r.Last.String()
}
