package frrlab

import (
	"fmt"
	"slices"
	"strings"
)

// ToR is a top-of-rack router's bgpd.conf as the tests and the lab use
// it: passive peer groups the nodes connect to, every group active in
// both address families, and ECMP across the nodes' next hops.
type ToR struct {
	ASN      uint32
	RouterID string
	Groups   []PeerGroup
	// Extra lines go inside "router bgp", before the address families
	// (more neighbors in a group, graceful restart, a password).
	Extra []string
	// MaxPaths is maximum-paths for eBGP and iBGP (0: 16).
	MaxPaths int
}

// PeerGroup is a group of passive neighbors.
type PeerGroup struct {
	Name string
	// RemoteAS is a number, "external" or "internal".
	RemoteAS string
	// Timers, when set, is "keepalive hold" in seconds (for example "1 3").
	Timers string
	// Members are the neighbor addresses in the group.
	Members []string
	// Families the group is active in: "ipv4", "ipv6" (empty: both).
	Families []string
}

func (g PeerGroup) activeIn(af string) bool {
	return len(g.Families) == 0 || slices.Contains(g.Families, af)
}

// Config renders bgpd.conf.
func (t ToR) Config() string {
	paths := t.MaxPaths
	if paths == 0 {
		paths = 16
	}
	var b strings.Builder
	fmt.Fprintf(&b, "frr defaults datacenter\nhostname rtr\nlog timestamp precision 3\nrouter bgp %d\n bgp router-id %s\n", t.ASN, t.RouterID)
	b.WriteString(" no bgp ebgp-requires-policy\n no bgp default ipv4-unicast\n bgp bestpath as-path multipath-relax\n")
	for _, g := range t.Groups {
		fmt.Fprintf(&b, " neighbor %s peer-group\n neighbor %s remote-as %s\n neighbor %s passive\n", g.Name, g.Name, g.RemoteAS, g.Name)
		if g.Timers != "" {
			fmt.Fprintf(&b, " neighbor %s timers %s\n", g.Name, g.Timers)
		}
	}
	for _, g := range t.Groups {
		for _, m := range g.Members {
			fmt.Fprintf(&b, " neighbor %s peer-group %s\n", m, g.Name)
		}
	}
	for _, l := range t.Extra {
		fmt.Fprintf(&b, " %s\n", l)
	}
	for _, af := range []string{"ipv4", "ipv6"} {
		fmt.Fprintf(&b, " address-family %s unicast\n", af)
		for _, g := range t.Groups {
			if g.activeIn(af) {
				fmt.Fprintf(&b, "  neighbor %s activate\n", g.Name)
			}
		}
		fmt.Fprintf(&b, "  maximum-paths %d\n  maximum-paths ibgp %d\n exit-address-family\n", paths, paths)
	}
	return b.String()
}
