package frrlab

import (
	"strings"
	"testing"
)

func TestToRConfig(t *testing.T) {
	c := ToR{ASN: 64500, RouterID: "198.18.0.1", MaxPaths: 8, Extra: []string{"bgp graceful-restart"}, Groups: []PeerGroup{
		{Name: "v4", RemoteAS: "external", Timers: "1 3", Members: []string{"198.18.0.11"}, Families: []string{"ipv4"}},
		{Name: "v6", RemoteAS: "64512", Members: []string{"2001:db8::11"}, Families: []string{"ipv6"}},
	}}.Config()
	for _, want := range []string{"router bgp 64500\n bgp router-id 198.18.0.1\n", " neighbor v4 timers 1 3\n", " neighbor 198.18.0.11 peer-group v4\n",
		" neighbor v6 remote-as 64512\n", " bgp graceful-restart\n", "address-family ipv4 unicast\n  neighbor v4 activate\n  maximum-paths 8\n",
		"address-family ipv6 unicast\n  neighbor v6 activate\n  maximum-paths 8\n"} {
		if !strings.Contains(c, want) {
			t.Errorf("config lacks %q:\n%s", want, c)
		}
	}
	if strings.Contains(c, "address-family ipv4 unicast\n  neighbor v6") {
		t.Errorf("v6 group active in ipv4:\n%s", c)
	}
}
