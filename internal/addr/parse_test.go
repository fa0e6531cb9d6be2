package addr

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		in        string
		want      Range
		str       string // String() of the result
		err       error  // sentinel the error must wrap
		errSubstr string
	}{
		{in: "198.18.0.0/24", want: Range{a("198.18.0.0"), a("198.18.0.255")}, str: "198.18.0.0/24"},
		{in: "  198.18.0.0/24 ", want: Range{a("198.18.0.0"), a("198.18.0.255")}, str: "198.18.0.0/24"},
		{in: "0.0.0.0/0", want: Range{a("0.0.0.0"), a("255.255.255.255")}, str: "0.0.0.0/0"},
		{in: "198.18.0.7/32", want: Range{a("198.18.0.7"), a("198.18.0.7")}, str: "198.18.0.7/32"},
		{in: "2001:db8::/64", want: Range{a("2001:db8::"), a("2001:db8::ffff:ffff:ffff:ffff")}, str: "2001:db8::/64"},
		{in: "2001:db8::/48", want: Range{a("2001:db8::"), a("2001:db8:0:ffff:ffff:ffff:ffff:ffff")}, str: "2001:db8::/48"},
		{in: "2001:db8::/127", want: Range{a("2001:db8::"), a("2001:db8::1")}, str: "2001:db8::/127"},
		{in: "::/0", want: Range{a("::"), a("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}, str: "::/0"},
		{in: "198.18.0.1-198.18.0.9", want: Range{a("198.18.0.1"), a("198.18.0.9")}, str: "198.18.0.1-198.18.0.9"},
		{in: "198.18.0.1 - 198.18.0.9", want: Range{a("198.18.0.1"), a("198.18.0.9")}, str: "198.18.0.1-198.18.0.9"},
		{in: "198.18.0.0-198.18.0.255", want: Range{a("198.18.0.0"), a("198.18.0.255")}, str: "198.18.0.0/24"},
		{in: "198.18.0.5-198.18.0.5", want: Range{a("198.18.0.5"), a("198.18.0.5")}, str: "198.18.0.5/32"},
		{in: "2001:db8::1-2001:db8::ff", want: Range{a("2001:db8::1"), a("2001:db8::ff")}, str: "2001:db8::1-2001:db8::ff"},
		{in: "198.18.0.7", want: Range{a("198.18.0.7"), a("198.18.0.7")}, str: "198.18.0.7/32"},
		{in: "2001:db8::7", want: Range{a("2001:db8::7"), a("2001:db8::7")}, str: "2001:db8::7/128"},

		{in: "", err: ErrEmpty},
		{in: "   ", err: ErrEmpty},
		{in: "198.18.0.1/24", err: ErrInvalidCIDR, errSubstr: "host bits are set, did you mean 198.18.0.0/24?"},
		{in: "2001:db8::1/64", err: ErrInvalidCIDR, errSubstr: "did you mean 2001:db8::/64?"},
		{in: "198.18.0.0/33", err: ErrInvalidCIDR, errSubstr: `bad prefix length "33"`},
		{in: "198.18.0.0/", err: ErrInvalidCIDR, errSubstr: "bad prefix length"},
		{in: "198.18.0/24", err: ErrInvalidCIDR, errSubstr: `"198.18.0" is not an IP address`},
		{in: "fe80::%eth0/64", err: ErrInvalidCIDR, errSubstr: "zoned"},
		{in: "::ffff:198.18.0.0/120", err: ErrInvalidCIDR, errSubstr: "IPv4-mapped"},
		{in: "::/80", err: ErrInvalidCIDR, errSubstr: "inside the IPv4-mapped space"},
		{in: "::ff00:0:0/88", err: ErrInvalidCIDR, errSubstr: "inside the IPv4-mapped space"},
		{in: "198.18.0.9-198.18.0.1", err: ErrInvalidRange, errSubstr: "range start 198.18.0.9 is after end 198.18.0.1"},
		{in: "198.18.0.1-2001:db8::1", err: ErrInvalidRange, errSubstr: "range mixes IPv4 and IPv6"},
		{in: "198.18.0.1-", err: ErrInvalidRange, errSubstr: "range end is missing"},
		{in: "-198.18.0.1", err: ErrInvalidRange, errSubstr: "range start is missing"},
		{in: "198.18.0.0/24-198.18.1.0", err: ErrInvalidRange, errSubstr: "must be an address, not a CIDR"},
		{in: "198.18.0.1-198.18.0.x", err: ErrInvalidRange, errSubstr: `range end "198.18.0.x" is not an IP address`},
		{in: "198.18.0.1-198.18.0.2-198.18.0.3", err: ErrInvalidRange},
		{in: "fe80::1%eth0-fe80::9", err: ErrInvalidRange, errSubstr: "zoned"},
		{in: "::ffff:198.18.0.1-::ffff:198.18.0.9", err: ErrInvalidRange, errSubstr: "write 198.18.0.1 instead"},
		{in: "fe80::1%eth0", err: ErrInvalidAddr, errSubstr: "zoned addresses are not allowed"},
		{in: "::ffff:198.18.0.1", err: ErrInvalidAddr, errSubstr: "IPv4-mapped IPv6 address, write 198.18.0.1 instead"},
		{in: "not-an-ip", err: ErrInvalidRange},
		{in: "banana", err: ErrInvalidAddr, errSubstr: `"banana"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRange(tt.in)
			if tt.err != nil {
				if err == nil {
					t.Fatalf("ParseRange(%q) = %v, want error %v", tt.in, got, tt.err)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("ParseRange(%q) error %q does not wrap %q", tt.in, err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.errSubstr) {
					t.Errorf("ParseRange(%q) error %q does not contain %q", tt.in, err, tt.errSubstr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseRange(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseRange(%q) = %#v, want %#v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.str {
				t.Errorf("String() = %q, want %q", s, tt.str)
			}
		})
	}
}

func TestParseAddr(t *testing.T) {
	for in, ok := range map[string]bool{
		"198.18.0.1":        true,
		" 2001:db8::1 ":     true,
		"":                  false,
		"fe80::1%eth0":      false,
		"::ffff:198.18.0.1": false,
		"198.18.0.0/24":     false,
	} {
		_, err := ParseAddr(in)
		if (err == nil) != ok {
			t.Errorf("ParseAddr(%q) error = %v, want ok=%v", in, err, ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidAddr) {
			t.Errorf("ParseAddr(%q) error %v does not wrap ErrInvalidAddr", in, err)
		}
	}
}

func TestNewRange(t *testing.T) {
	a := netip.MustParseAddr
	if _, err := NewRange(a("198.18.0.2"), a("198.18.0.1")); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("reversed: err = %v", err)
	}
	if _, err := NewRange(a("198.18.0.2"), a("2001:db8::1")); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("mixed: err = %v", err)
	}
	if _, err := NewRange(a("::ffff:198.18.0.2"), a("::ffff:198.18.0.3")); !errors.Is(err, ErrInvalidAddr) {
		t.Errorf("mapped: err = %v", err)
	}
	if _, err := NewRange(netip.Addr{}, a("198.18.0.3")); err == nil {
		t.Errorf("invalid: no error")
	}
	r, err := NewRange(a("198.18.0.2"), a("198.18.0.3"))
	if err != nil || r.String() != "198.18.0.2/31" {
		t.Errorf("NewRange = %v, %v", r, err)
	}
}

// FuzzParseRange checks that ParseRange never panics, that what it accepts
// is a valid Range, and that String round-trips.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{
		"198.18.0.0/24", "2001:db8::/64", "198.18.0.1-198.18.0.9", "198.18.0.1 - 198.18.0.9",
		"198.18.0.7", "2001:db8::1-2001:db8::ff", "::/0", "0.0.0.0/0", "198.18.0.1/24",
		"fe80::1%eth0", "::ffff:1.2.3.4", "1.2.3.4-::1", "", "-", "/", "1.2.3.4/32-",
		"::/80", // found by fuzzing: ends inside the IPv4-mapped space
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRange(s)
		if err != nil {
			if r != (Range{}) {
				t.Fatalf("ParseRange(%q) returned %v with error %v", s, r, err)
			}
			return
		}
		if !r.IsValid() {
			t.Fatalf("ParseRange(%q) = invalid %#v", s, r)
		}
		if r.First.Is4In6() || r.Last.Is4In6() {
			t.Fatalf("ParseRange(%q) = mapped %v", s, r)
		}
		str := r.String()
		r2, err := ParseRange(str)
		if err != nil {
			t.Fatalf("ParseRange(%q).String() = %q does not parse: %v", s, str, err)
		}
		if r2 != r {
			t.Fatalf("round trip %q -> %v -> %q -> %v", s, r, str, r2)
		}
		if !r.Contains(r.First) || !r.Contains(r.Last) {
			t.Fatalf("%v does not contain its ends", r)
		}
		if r.Size() == 0 {
			t.Fatalf("%v has size 0", r)
		}
		if p, ok := r.Prefix(); ok && PrefixRange(p) != r {
			t.Fatalf("%v.Prefix() = %v covers %v", r, p, PrefixRange(p))
		}
	})
}

// TestParsePoolRange: a pool entry with host bits means its network, as
// in MetalLB, and the note says how it was read; everything else is read
// exactly as ParseRange reads it, with no note.
func TestParsePoolRange(t *testing.T) {
	a := netip.MustParseAddr
	for _, tt := range []struct {
		in        string
		want      Range
		note      string
		errSubstr string // non-empty: must fail with this
	}{
		{in: "198.51.100.10/24", want: Range{a("198.51.100.0"), a("198.51.100.255")}, note: "198.51.100.10/24 read as 198.51.100.0/24"},
		{in: " 198.18.0.1/24 ", want: Range{a("198.18.0.0"), a("198.18.0.255")}, note: "198.18.0.1/24 read as 198.18.0.0/24"},
		{in: "198.18.0.7/31", want: Range{a("198.18.0.6"), a("198.18.0.7")}, note: "198.18.0.7/31 read as 198.18.0.6/31"},
		{in: "2001:db8::1/64", want: Range{a("2001:db8::"), a("2001:db8::ffff:ffff:ffff:ffff")}, note: "2001:db8::1/64 read as 2001:db8::/64"},
		{in: "198.18.0.0/24", want: Range{a("198.18.0.0"), a("198.18.0.255")}},
		{in: "198.18.0.7/32", want: Range{a("198.18.0.7"), a("198.18.0.7")}},
		{in: "198.18.0.1-198.18.0.9", want: Range{a("198.18.0.1"), a("198.18.0.9")}},
		{in: "198.18.0.7", want: Range{a("198.18.0.7"), a("198.18.0.7")}},
		{in: "198.18.0.1/33", errSubstr: "bad prefix length"},
		{in: "::ffff:198.18.0.1/120", errSubstr: "IPv4-mapped"},
		{in: "::1/80", errSubstr: "inside the IPv4-mapped space"},
		{in: "198.18.0.1/24-198.18.1.0", errSubstr: "not a CIDR"},
	} {
		got, note, err := ParsePoolRange(tt.in)
		if tt.errSubstr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.errSubstr) {
				t.Errorf("ParsePoolRange(%q) = %v, %v; want error containing %q", tt.in, got, err, tt.errSubstr)
			}
			continue
		}
		if err != nil || got != tt.want || note != tt.note {
			t.Errorf("ParsePoolRange(%q) = %v, %q, %v; want %v, %q", tt.in, got, note, err, tt.want, tt.note)
		}
	}
}
