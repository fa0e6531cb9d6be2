package bgpmodel

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Community is one BGP community value: either a standard community
// (RFC 1997, written "a:b" with two 16-bit halves) or a large community
// (RFC 8092, written "large:a:b:c" with three 32-bit parts). These are the
// two spellings BGPAdvertisement.spec.communities accepts; names from
// Community objects are resolved by the caller before they reach here.
//
// The zero value is the standard community 0:0. Community is comparable, so
// it can be used as a map key and compared with ==.
type Community struct {
	large bool
	// For a standard community a holds the whole 32-bit value and b, c
	// are zero; for a large community a, b, c are global administrator,
	// local data part 1 and local data part 2.
	a, b, c uint32
}

// StandardCommunity returns the RFC 1997 community hi:lo.
func StandardCommunity(hi, lo uint16) Community {
	return Community{a: uint32(hi)<<16 | uint32(lo)}
}

// LargeCommunity returns the RFC 8092 community global:local1:local2.
func LargeCommunity(global, local1, local2 uint32) Community {
	return Community{large: true, a: global, b: local1, c: local2}
}

// IsLarge reports whether c is a large community.
func (c Community) IsLarge() bool { return c.large }

// Value returns the 32-bit value of a standard community (0 for a large one).
func (c Community) Value() uint32 {
	if c.large {
		return 0
	}
	return c.a
}

// Parts returns the three 32-bit parts of a large community (zeros for a
// standard one).
func (c Community) Parts() (global, local1, local2 uint32) {
	if !c.large {
		return 0, 0, 0
	}
	return c.a, c.b, c.c
}

// String returns the canonical spelling, which ParseCommunity accepts.
func (c Community) String() string {
	if c.large {
		return fmt.Sprintf("large:%d:%d:%d", c.a, c.b, c.c)
	}
	return fmt.Sprintf("%d:%d", c.a>>16, c.a&0xffff)
}

// Less orders standard communities before large ones, each numerically,
// so merged attribute lists are deterministic.
func (c Community) Less(o Community) bool {
	if c.large != o.large {
		return !c.large
	}
	if c.a != o.a {
		return c.a < o.a
	}
	if c.b != o.b {
		return c.b < o.b
	}
	return c.c < o.c
}

// ErrCommunitySyntax is wrapped by every ParseCommunity error.
var ErrCommunitySyntax = errors.New("invalid BGP community")

const largePrefix = "large:"

// ParseCommunity parses "a:b" (each part 0-65535) or "large:a:b:c" (each
// part 0-4294967295). Parts are unsigned decimal numbers; signs, spaces,
// hex and empty parts are refused, so every accepted value prints back to
// an equivalent string.
func ParseCommunity(s string) (Community, error) {
	if rest, ok := strings.CutPrefix(s, largePrefix); ok {
		parts := strings.Split(rest, ":")
		if len(parts) != 3 {
			return Community{}, fmt.Errorf("%w %q: a large community is large:<global>:<local1>:<local2>", ErrCommunitySyntax, s)
		}
		var v [3]uint32
		for i, p := range parts {
			n, err := parseDecimal(p, 32)
			if err != nil {
				return Community{}, fmt.Errorf("%w %q: part %d: %v", ErrCommunitySyntax, s, i+1, err)
			}
			v[i] = uint32(n)
		}
		return LargeCommunity(v[0], v[1], v[2]), nil
	}
	hi, lo, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(lo, ":") {
		return Community{}, fmt.Errorf("%w %q: expected <0-65535>:<0-65535> or large:<a>:<b>:<c>", ErrCommunitySyntax, s)
	}
	h, err := parseDecimal(hi, 16)
	if err != nil {
		return Community{}, fmt.Errorf("%w %q: first part: %v", ErrCommunitySyntax, s, err)
	}
	l, err := parseDecimal(lo, 16)
	if err != nil {
		return Community{}, fmt.Errorf("%w %q: second part: %v", ErrCommunitySyntax, s, err)
	}
	return StandardCommunity(uint16(h), uint16(l)), nil
}

// parseDecimal accepts only ASCII digits, unlike strconv.ParseUint which
// would also take "+1" or "0x1" with base 0 and underscores in some modes.
func parseDecimal(s string, bits int) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%q is not a decimal number", s)
		}
	}
	n, err := strconv.ParseUint(s, 10, bits)
	if err != nil {
		return 0, fmt.Errorf("%q is out of range for %d bits", s, bits)
	}
	return n, nil
}

// ParseCommunities parses every string and reports all bad ones at once.
func ParseCommunities(ss []string) ([]Community, error) {
	out := make([]Community, 0, len(ss))
	var errs []error
	for _, s := range ss {
		c, err := ParseCommunity(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, c)
	}
	return out, errors.Join(errs...)
}

// MarshalText implements encoding.TextMarshaler with the String form.
func (c Community) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseCommunity.
func (c *Community) UnmarshalText(b []byte) error {
	v, err := ParseCommunity(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// MarshalBinary and UnmarshalBinary use the text form, so encoders such as
// encoding/gob, which ignore unexported fields, carry communities intact.
func (c Community) MarshalBinary() ([]byte, error) { return c.MarshalText() }

// UnmarshalBinary is the inverse of MarshalBinary.
func (c *Community) UnmarshalBinary(b []byte) error { return c.UnmarshalText(b) }
