package members

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func TestCarriers(t *testing.T) {
	lan := Interface{Name: "eth0", MAC: mac("02:00:00:00:00:01"), Up: true, Prefixes: pfx("198.18.0.0/24", "2001:db8::/64")}
	lan2 := Interface{Name: "eth1", MAC: mac("02:00:00:00:00:03"), Up: true, Prefixes: pfx("198.18.1.0/24")}
	mgmt := Interface{Name: "mgmt0", MAC: mac("02:00:00:00:00:02"), Up: true, Prefixes: pfx("198.19.0.0/24")}
	bare := Interface{Name: "eth2", MAC: mac("02:00:00:00:00:04"), Up: true}
	down := func(i Interface) Interface { i.Up = false; return i }
	ignoreMgmt := func(n string) bool { return strings.HasPrefix(n, "mgmt") }
	v4, v6 := netip.MustParseAddr("198.18.0.100"), netip.MustParseAddr("2001:db8::100")
	other := netip.MustParseAddr("198.18.200.1") // on no node subnet

	for _, c := range []struct {
		name    string
		ifs     []Interface
		ip      netip.Addr
		allowed []string
		ignore  func(string) bool
		want    []string
		reason  string // substring
	}{
		{"one LAN up", []Interface{lan}, v4, nil, nil, []string{"eth0"}, ""},
		{"IPv6 on its subnet", []Interface{lan, lan2}, v6, nil, nil, []string{"eth0"}, ""},
		{"mapped IPv4", []Interface{lan}, netip.MustParseAddr("::ffff:198.18.0.100"), nil, nil, []string{"eth0"}, ""},
		{"subnet picks the LAN", []Interface{lan, lan2, mgmt}, v4, nil, nil, []string{"eth0"}, ""},
		{"LAN down, management up: not eligible", []Interface{down(lan), mgmt}, v4, nil, nil, nil, "subnet of 198.18.0.100 are down (eth0)"},
		{"LAN down, management ignored", []Interface{down(lan), mgmt}, v4, nil, ignoreMgmt, nil, "are down (eth0)"},
		{"no subnet holds it: every counted interface", []Interface{lan, lan2, mgmt}, other, nil, ignoreMgmt, []string{"eth0", "eth1"}, ""},
		{"no subnet holds it, all down", []Interface{down(lan), down(lan2)}, other, nil, nil, nil, "may carry 198.18.200.1 are down (eth0, eth1)"},
		{"no subnet, one up without addresses", []Interface{down(lan), bare}, other, nil, nil, []string{"eth2"}, ""},
		{"interface list limits", []Interface{lan, lan2}, other, []string{"eth1"}, nil, []string{"eth1"}, ""},
		{"interface list beats the subnet", []Interface{lan, lan2}, v4, []string{"eth1"}, nil, []string{"eth1"}, ""},
		{"listed interface down", []Interface{lan, down(lan2)}, other, []string{"eth1"}, nil, nil, "are down (eth1)"},
		{"listed interface missing", []Interface{lan}, v4, []string{"eth9", "eth8"}, nil, nil, "none of the interfaces the L2Advertisement allows (eth9, eth8)"},
		{"a list names an ignored interface", []Interface{lan, mgmt}, v4, []string{"mgmt0"}, ignoreMgmt, []string{"mgmt0"}, ""},
		{"everything ignored", []Interface{mgmt}, v4, nil, ignoreMgmt, nil, "no LAN interface"},
		{"no interfaces", nil, v4, nil, nil, nil, "no LAN interface"},
	} {
		got, reason := Carriers(NodeMeta{Interfaces: c.ifs}, c.ip, c.allowed, c.ignore)
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Carriers = %v (%q), want %v", c.name, got, reason, c.want)
		}
		if (c.reason == "") != (reason == "") || !strings.Contains(reason, c.reason) {
			t.Errorf("%s: reason %q, want one containing %q", c.name, reason, c.reason)
		}
	}
}
