package bgpmodel

import (
	"net/netip"
	"testing"
)

func TestAggregate(t *testing.T) {
	for _, tc := range []struct {
		ip         string
		v4, v6     int
		want       string
		wantErrSub bool
	}{
		{ip: "198.19.0.7", v4: 32, v6: 128, want: "198.19.0.7/32"},
		{ip: "198.19.0.7", v4: 24, v6: 128, want: "198.19.0.0/24"},
		{ip: "198.19.3.250", v4: 22, v6: 64, want: "198.19.0.0/22"},
		{ip: "198.19.3.250", v4: 0, v6: 64, want: "0.0.0.0/0"},
		{ip: "2001:db8:ff::1", v4: 24, v6: 128, want: "2001:db8:ff::1/128"},
		{ip: "2001:db8:ff::1234", v4: 24, v6: 120, want: "2001:db8:ff::1200/120"},
		{ip: "2001:db8:ff::1234", v4: 24, v6: 64, want: "2001:db8:ff::/64"},
		{ip: "::ffff:198.19.0.9", v4: 31, v6: 64, want: "198.19.0.8/31"},
		{ip: "fe80::1%eth0", v4: 32, v6: 128, want: "fe80::1/128"},
		{ip: "198.19.0.7", v4: 33, v6: 128, wantErrSub: true},
		{ip: "198.19.0.7", v4: -1, v6: 128, wantErrSub: true},
		{ip: "2001:db8::1", v4: 32, v6: 129, wantErrSub: true},
	} {
		got, err := Aggregate(netip.MustParseAddr(tc.ip), tc.v4, tc.v6)
		if tc.wantErrSub {
			if err == nil {
				t.Errorf("Aggregate(%s, %d, %d) = %s, want error", tc.ip, tc.v4, tc.v6, got)
			}
			continue
		}
		if err != nil || got.String() != tc.want {
			t.Errorf("Aggregate(%s, %d, %d) = %s, %v; want %s", tc.ip, tc.v4, tc.v6, got, err, tc.want)
		}
	}
	if _, err := Aggregate(netip.Addr{}, 32, 128); err == nil {
		t.Error("Aggregate of the zero Addr succeeded")
	}
}
