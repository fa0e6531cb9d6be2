package members

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"testing"
)

func mac(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

func pfx(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// A typical node: LAN and management interfaces, both families.
var typical = NodeMeta{Interfaces: []Interface{
	{Name: "eth0", MAC: mac("02:00:00:00:00:01"), Up: true, Prefixes: pfx("198.18.0.0/24", "2001:db8::/64")},
	{Name: "mgmt0", MAC: mac("02:00:00:00:00:02"), Up: false, Prefixes: pfx("198.19.0.0/24", "2001:db8:1::/64")},
}}

func TestMetaRoundTrip(t *testing.T) {
	for name, m := range map[string]NodeMeta{
		"empty":     {},
		"typical":   typical,
		"no MAC":    {Interfaces: []Interface{{Name: "bond0", Up: true}}},
		"settling":  {Interfaces: typical.Interfaces, Settling: true},
		"host bits": {Interfaces: []Interface{{Name: "eth0", MAC: mac("02:00:00:00:00:01"), Prefixes: pfx("198.18.0.11/24")}}},
	} {
		b, err := EncodeMeta(m)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := DecodeMeta(b)
		if err != nil || !got.Equal(m) {
			t.Errorf("%s: decoded %+v, %v; want %+v", name, got, err, m)
		}
		if name == "typical" {
			t.Logf("typical node metadata: %d bytes of %d", len(b), MaxMetaSize)
			if len(b) > 100 {
				t.Errorf("typical node metadata takes %d bytes, want under 100", len(b))
			}
		}
	}
}

// TestMetaWithoutNodeFlags: metadata from a speaker that predates the
// node flags byte decodes, not settling.
func TestMetaWithoutNodeFlags(t *testing.T) {
	b, err := EncodeMeta(NodeMeta{Interfaces: typical.Interfaces, Settling: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeMeta(b[:len(b)-1])
	if err != nil || got.Settling || !got.Equal(typical) {
		t.Errorf("without the flags byte: %+v, %v; want %+v", got, err, typical)
	}
}

func TestMetaRefused(t *testing.T) {
	var big NodeMeta
	for i := 0; i < 20; i++ {
		big.Interfaces = append(big.Interfaces, Interface{Name: fmt.Sprintf("eth%d", i), MAC: mac("02:00:00:00:00:01"), Prefixes: pfx("2001:db8::/64", "2001:db8:1::/64")})
	}
	if _, err := EncodeMeta(big); !errors.Is(err, ErrMetaTooLarge) {
		t.Errorf("20 interfaces with 2 IPv6 subnets each: %v, want ErrMetaTooLarge", err)
	}
	if _, err := EncodeMeta(NodeMeta{Interfaces: []Interface{{Name: "eth0", Prefixes: []netip.Prefix{{}}}}}); err == nil {
		t.Error("an invalid prefix was encoded")
	}
	good, _ := EncodeMeta(typical)
	for name, b := range map[string][]byte{
		"nil":       nil,
		"version 2": append([]byte{2}, good[1:]...),
		"truncated": good[:len(good)-3],
		"bad bits":  {1, 1, 1, 'e', 0, 0, 1, 4, 198, 18, 0, 0, 33},
		"bad len":   {1, 1, 1, 'e', 0, 0, 1, 5, 198, 18, 0, 0, 0, 24},
	} {
		if m, err := DecodeMeta(b); err == nil {
			t.Errorf("%s: decoded %+v", name, m)
		}
	}
	// Fields a later version 1 appends are skipped.
	if m, err := DecodeMeta(append(good, 9, 9, 9)); err != nil || !m.Equal(typical) {
		t.Errorf("with trailing bytes: %+v, %v", m, err)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := EncodeMeta(typical)
	f.Add(good)
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMeta(b)
		if err != nil {
			return
		}
		again, err := EncodeMeta(m)
		if err != nil {
			return // e.g. longer than MaxMetaSize: decoding does not limit
		}
		m2, err := DecodeMeta(again)
		if err != nil || !m2.Equal(m) {
			t.Fatalf("re-encoding %+v gave %+v, %v", m, m2, err)
		}
	})
}
