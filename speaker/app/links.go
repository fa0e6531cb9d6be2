package app

import (
	"net/netip"

	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Link-aware election: every speaker gossips its LAN interfaces (name,
// MAC, up, subnets) in memberlist's node metadata, and every speaker
// plans with the same gossiped view, so a node alive on its management
// network but cut from the LAN loses its IPs within a gossip round.

// nodeMeta is this node's memberlist metadata for the announcer's link
// states.
func nodeMeta(states []layer2.LinkState) members.NodeMeta {
	var m members.NodeMeta
	for _, s := range states {
		m.Interfaces = append(m.Interfaces, members.Interface{Name: s.Name, MAC: s.MAC, Up: s.Up, Prefixes: s.Prefixes})
	}
	return m
}

// unknownLinks is what carriersFrom returns for a node whose links it
// does not know: not a real interface name, only "eligible".
var unknownLinks = []string{"(links unknown)"}

// carriersFrom is l2plan's Carriers over one read of the gossiped
// metadata. A node without metadata (an older speaker, or one not heard
// from yet) or with no interfaces in it (a speaker that has not scanned
// its links yet: its first metadata is empty) stays eligible: unknown
// links are not down links.
func carriersFrom(metas map[string]members.NodeMeta, ignore func(string) bool) func(string, netip.Addr, []string) ([]string, string) {
	return func(node string, ip netip.Addr, allowed []string) ([]string, string) {
		m, ok := metas[node]
		if !ok || len(m.Interfaces) == 0 {
			return unknownLinks, ""
		}
		return members.Carriers(m, ip, allowed, ignore)
	}
}
