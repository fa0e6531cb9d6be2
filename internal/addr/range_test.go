package addr

import (
	"math"
	"net/netip"
	"testing"
)

func TestFamily(t *testing.T) {
	if IPv4.String() != "IPv4" || IPv6.String() != "IPv6" || Family(0).String() != "Family(0)" {
		t.Errorf("String: %v %v %v", IPv4, IPv6, Family(0))
	}
	for s, want := range map[string]Family{"198.18.0.1": IPv4, "2001:db8::1": IPv6, "::ffff:198.18.0.1": IPv6} {
		if got := FamilyOf(netip.MustParseAddr(s)); got != want {
			t.Errorf("FamilyOf(%s) = %v, want %v", s, got, want)
		}
	}
	if FamilyOf(netip.Addr{}) != 0 {
		t.Errorf("FamilyOf(zero) != 0")
	}
	if IPv4.Bits() != 32 || IPv6.Bits() != 128 || Family(0).Bits() != 0 {
		t.Errorf("Bits wrong")
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]uint64{
		"198.18.0.7":                   1,
		"198.18.0.0/24":                256,
		"198.18.0.1-198.18.0.9":        9,
		"198.16.0.0/12":                1 << 20,
		"0.0.0.0/0":                    1 << 32,
		"2001:db8::/128":               1,
		"2001:db8::/120":               256,
		"2001:db8::/65":                1 << 63,
		"2001:db8::/64":                math.MaxUint64,
		"2001:db8::/48":                math.MaxUint64,
		"::/0":                         math.MaxUint64,
		"2001:db8::-2001:db8::1:0:0:0": 1<<48 + 1,
	} {
		if got := MustParseRange(in).Size(); got != want {
			t.Errorf("Size(%s) = %d, want %d", in, got, want)
		}
	}
}

func TestContainsOverlaps(t *testing.T) {
	r := MustParseRange("198.18.0.10-198.18.0.20")
	a := netip.MustParseAddr
	for s, want := range map[string]bool{
		"198.18.0.9": false, "198.18.0.10": true, "198.18.0.15": true, "198.18.0.20": true,
		"198.18.0.21": false, "::ffff:198.18.0.15": false, "2001:db8::1": false,
	} {
		if got := r.Contains(a(s)); got != want {
			t.Errorf("Contains(%s) = %v", s, got)
		}
	}
	if r.Contains(netip.Addr{}) {
		t.Errorf("Contains(zero)")
	}
	for s, want := range map[string]bool{
		"198.18.0.0-198.18.0.9":   false,
		"198.18.0.0-198.18.0.10":  true,
		"198.18.0.20-198.18.0.30": true,
		"198.18.0.21-198.18.0.30": false,
		"198.18.0.12-198.18.0.13": true,
		"198.18.0.0/16":           true,
		"2001:db8::/32":           false,
	} {
		o := MustParseRange(s)
		if got := r.Overlaps(o); got != want {
			t.Errorf("Overlaps(%s) = %v", s, got)
		}
		if got := o.Overlaps(r); got != want {
			t.Errorf("%s.Overlaps = %v (not symmetric)", s, got)
		}
		in, ok := r.Intersect(o)
		if ok != want {
			t.Errorf("Intersect(%s) ok = %v", s, ok)
		}
		if ok && (!r.Contains(in.First) || !r.Contains(in.Last) || !o.Contains(in.First) || !o.Contains(in.Last)) {
			t.Errorf("Intersect(%s) = %v", s, in)
		}
	}
}

func TestPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"198.18.0.0-198.18.0.255":                    "198.18.0.0/24",
		"198.18.0.0-198.18.1.255":                    "198.18.0.0/23",
		"198.18.0.0-198.18.2.255":                    "",
		"198.18.0.1-198.18.0.255":                    "",
		"198.18.0.0-198.18.0.254":                    "",
		"198.18.0.1-198.18.0.2":                      "",
		"2001:db8::-2001:db8::ffff:ffff:ffff:ffff":   "2001:db8::/64",
		"2001:db8::-2001:db8::ffff:ffff:ffff:fffe":   "",
		"2001:db8::-2001:db8:0:1::":                  "",
		"::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff": "::/0",
	} {
		p, ok := MustParseRange(in).Prefix()
		got := ""
		if ok {
			got = p.String()
		}
		if got != want {
			t.Errorf("Prefix(%s) = %q, want %q", in, got, want)
		}
	}
	if _, ok := (Range{}).Prefix(); ok {
		t.Errorf("zero Range has a prefix")
	}
	if (Range{}).IsValid() {
		t.Errorf("zero Range is valid")
	}
	if s := (Range{}).String(); s == "" {
		t.Errorf("zero Range String empty")
	}
}

func TestArithmetic(t *testing.T) {
	a := netip.MustParseAddr
	if d := Distance(a("198.18.0.1"), a("198.18.1.1")); d != 256 {
		t.Errorf("Distance = %d", d)
	}
	if d := Distance(a("198.18.1.1"), a("198.18.0.1")); d != 0 {
		t.Errorf("Distance reversed = %d", d)
	}
	if d := Distance(a("198.18.0.1"), a("2001:db8::")); d != 0 {
		t.Errorf("Distance mixed = %d", d)
	}
	if d := Distance(a("2001:db8::"), a("2001:db8:0:1::")); d != math.MaxUint64 {
		t.Errorf("Distance /64 = %d", d)
	}
	if d := Distance(a("2001:db8::"), a("2001:db8::ffff:ffff:ffff:ffff")); d != math.MaxUint64 {
		t.Errorf("Distance /64-1 = %d", d)
	}
	if d := Distance(a("2001:db8::ffff:ffff:ffff:ffff"), a("2001:db8:0:1::")); d != 1 {
		t.Errorf("Distance carry = %d", d)
	}
	cases := []struct {
		from string
		n    uint64
		want string // "" = overflow
	}{
		{"198.18.0.255", 1, "198.18.1.0"},
		{"255.255.255.255", 1, ""},
		{"255.255.255.0", 255, "255.255.255.255"},
		{"0.0.0.0", math.MaxUint32, "255.255.255.255"},
		{"0.0.0.0", math.MaxUint32 + 1, ""},
		{"2001:db8::ffff:ffff:ffff:ffff", 1, "2001:db8:0:1::"},
		{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1, ""},
	}
	for _, c := range cases {
		got, ok := Add(a(c.from), c.n)
		if (c.want == "") == ok || (ok && got != a(c.want)) {
			t.Errorf("Add(%s, %d) = %v, %v; want %q", c.from, c.n, got, ok, c.want)
		}
		if ok {
			back, ok := Sub(got, c.n)
			if !ok || back != a(c.from) {
				t.Errorf("Sub(%v, %d) = %v, %v", got, c.n, back, ok)
			}
		}
	}
	if _, ok := Sub(a("0.0.0.1"), 2); ok {
		t.Errorf("Sub underflow ok")
	}
	if _, ok := Sub(a("::1"), 2); ok {
		t.Errorf("Sub v6 underflow ok")
	}
	if _, ok := Add(netip.Addr{}, 1); ok {
		t.Errorf("Add(zero) ok")
	}
}

func TestCompare(t *testing.T) {
	r := MustParseRange
	if r("198.18.0.0/24").Compare(r("2001:db8::/64")) >= 0 {
		t.Errorf("IPv4 not before IPv6")
	}
	if r("198.18.0.0-198.18.0.1").Compare(r("198.18.0.0-198.18.0.2")) >= 0 {
		t.Errorf("shorter not first")
	}
	if r("198.18.0.0/24").Compare(r("198.18.0.0/24")) != 0 {
		t.Errorf("equal not 0")
	}
}

func BenchmarkParseRange(b *testing.B) {
	for _, s := range []string{"198.18.0.0/24", "198.18.0.1-198.18.0.9", "2001:db8::/64"} {
		b.Run(s, func(b *testing.B) {
			for b.Loop() {
				if _, err := ParseRange(s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
