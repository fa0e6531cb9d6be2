package addr

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Parse errors. Every error returned by ParseRange and ParseAddr wraps
// exactly one of these, so callers can classify it with errors.Is while
// still showing the full, specific message to the user.
var (
	ErrEmpty        = errors.New("empty address range")
	ErrInvalidCIDR  = errors.New("invalid CIDR")
	ErrInvalidAddr  = errors.New("invalid IP address")
	ErrInvalidRange = errors.New("invalid address range")
)

// ParseRange parses one entry of IPAddressPool.spec.addresses:
//
//	198.18.0.0/24, 2001:db8::/64   a CIDR; host bits must be zero
//	198.18.0.1-198.18.0.9          an inclusive range; spaces around "-" allowed
//	198.18.0.7, 2001:db8::7        a single address (/32 or /128)
//
// Zoned addresses ("fe80::1%eth0") and IPv4-mapped IPv6 addresses
// ("::ffff:198.18.0.1") are rejected rather than silently converted, so
// that every IPv4 address has a single spelling in configuration, in
// Service status and in the allocator.
func ParseRange(s string) (Range, error) {
	r, _, err := parseRange(s, false)
	return r, err
}

// ParsePoolRange reads an entry of IPAddressPool.spec.addresses the way
// MetalLB does: like ParseRange, except that a CIDR with host bits set
// ("198.51.100.10/24") means its network (198.51.100.0/24). note then says
// how the entry was read ("198.51.100.10/24 read as 198.51.100.0/24"), for
// the pool's status; it is empty when the entry was taken as written.
func ParsePoolRange(s string) (r Range, note string, err error) {
	return parseRange(s, true)
}

// parseRange is ParseRange; hostBits allows a CIDR with host bits and
// returns the note saying which network it was read as.
func parseRange(s string, hostBits bool) (Range, string, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return Range{}, "", ErrEmpty
	}
	if lo, hi, ok := strings.Cut(in, "-"); ok {
		lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
		first, err := parseBound(lo, "start", in)
		if err != nil {
			return Range{}, "", err
		}
		last, err := parseBound(hi, "end", in)
		if err != nil {
			return Range{}, "", err
		}
		r, err := checkRange(first, last, in)
		return r, "", err
	}
	if strings.Contains(in, "/") {
		return parseCIDR(in, hostBits)
	}
	a, err := ParseAddr(in)
	if err != nil {
		return Range{}, "", err
	}
	return SingleAddr(a), "", nil
}

// MustParseRange is ParseRange for tests and constants; it panics on error.
func MustParseRange(s string) Range {
	r, err := ParseRange(s)
	if err != nil {
		panic(err)
	}
	return r
}

// ParseAddr parses a single address with the same rules as ParseRange:
// no zone, no IPv4-mapped IPv6 form. Use it for addresses that come from
// users (annotations, spec.loadBalancerIP) and from Service status.
func ParseAddr(s string) (netip.Addr, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return netip.Addr{}, fmt.Errorf("%w: empty string", ErrInvalidAddr)
	}
	a, err := netip.ParseAddr(in)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w %q", ErrInvalidAddr, in)
	}
	if err := checkAddr(a, in); err != nil {
		return netip.Addr{}, err
	}
	return a, nil
}

// checkAddr rejects zoned and IPv4-mapped addresses; in is how the user
// wrote the address, for the message.
func checkAddr(a netip.Addr, in string) error {
	switch {
	case !a.IsValid():
		return fmt.Errorf("%w %q", ErrInvalidAddr, in)
	case a.Zone() != "":
		return fmt.Errorf("%w %q: zoned addresses are not allowed", ErrInvalidAddr, in)
	case a.Is4In6():
		return fmt.Errorf("%w %q: IPv4-mapped IPv6 address, write %s instead", ErrInvalidAddr, in, a.Unmap())
	}
	return nil
}

func parseBound(s, which, in string) (netip.Addr, error) {
	if s == "" {
		return netip.Addr{}, fmt.Errorf("%w %q: range %s is missing", ErrInvalidRange, in, which)
	}
	if strings.Contains(s, "/") {
		return netip.Addr{}, fmt.Errorf("%w %q: range %s %q must be an address, not a CIDR", ErrInvalidRange, in, which, s)
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%w %q: range %s %q is not an IP address", ErrInvalidRange, in, which, s)
	}
	if err := checkAddr(a, s); err != nil {
		return netip.Addr{}, fmt.Errorf("%w %q: range %s: %w", ErrInvalidRange, in, which, err)
	}
	return a, nil
}

func checkRange(first, last netip.Addr, in string) (Range, error) {
	if FamilyOf(first) != FamilyOf(last) {
		return Range{}, fmt.Errorf("%w %q: range mixes IPv4 and IPv6", ErrInvalidRange, in)
	}
	if last.Less(first) {
		return Range{}, fmt.Errorf("%w %q: range start %s is after end %s", ErrInvalidRange, in, first, last)
	}
	return Range{First: first, Last: last}, nil
}

func parseCIDR(in string, hostBits bool) (Range, string, error) {
	a, bitsStr, _ := strings.Cut(in, "/")
	if strings.Contains(a, "%") {
		return Range{}, "", fmt.Errorf("%w %q: zoned addresses are not allowed", ErrInvalidCIDR, in)
	}
	p, err := netip.ParsePrefix(in)
	if err != nil {
		if _, aerr := netip.ParseAddr(a); aerr != nil {
			return Range{}, "", fmt.Errorf("%w %q: %q is not an IP address", ErrInvalidCIDR, in, a)
		}
		return Range{}, "", fmt.Errorf("%w %q: bad prefix length %q", ErrInvalidCIDR, in, bitsStr)
	}
	if p.Addr().Is4In6() {
		return Range{}, "", fmt.Errorf("%w %q: IPv4-mapped IPv6 prefix, write an IPv4 CIDR instead", ErrInvalidCIDR, in)
	}
	note := ""
	if m := p.Masked(); m != p {
		if !hostBits {
			return Range{}, "", fmt.Errorf("%w %q: host bits are set, did you mean %s?", ErrInvalidCIDR, in, m)
		}
		note, p = fmt.Sprintf("%s read as %s", in, m), m
	}
	r := PrefixRange(p)
	// A short IPv6 prefix such as ::/80 ends inside ::ffff:0:0/96, the
	// IPv4-mapped space: its last address would print as an IPv4 address
	// and could never be announced as IPv6. Ranges written with a dash
	// cannot end there (their bounds are checked), so a CIDR must not either.
	if r.Last.Is4In6() {
		return Range{}, "", fmt.Errorf("%w %q: ends at %s, inside the IPv4-mapped space ::ffff:0:0/96; use a prefix that stops before it", ErrInvalidCIDR, in, r.Last)
	}
	return r, note, nil
}
