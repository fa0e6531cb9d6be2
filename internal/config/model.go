package config

import (
	"net/netip"
	"sort"

	"k8s.io/apimachinery/pkg/labels"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/bgpmodel"
)

// Config is the validated configuration.
type Config struct {
	// Pools by name.
	Pools map[string]*Pool
	// L2Advertisements and BGPAdvertisements in name order.
	L2Advertisements  []*L2Advertisement
	BGPAdvertisements []*BGPAdvertisement
	// Peers in name order.
	Peers []*Peer
	// HeldBack names the BGPAdvertisements left out only because they
	// name a community alias no Community defines (see KeepHeldBack).
	HeldBack []string
}

// KeepHeldBack puts back, for each held-back BGPAdvertisement, the version
// of it in prev (the configuration the caller applied last), so an alias
// that disappears or is mistyped leaves the routes as they were instead of
// dropping or stripping them; the problem is reported either way. With no
// previous version (a new advertisement, or a speaker that just started)
// the advertisement stays out: barelb never guesses a community.
func (c *Config) KeepHeldBack(prev *Config) {
	if prev == nil || len(c.HeldBack) == 0 {
		return
	}
	for _, name := range c.HeldBack {
		for _, a := range prev.BGPAdvertisements {
			if a.Name == name {
				c.BGPAdvertisements = append(c.BGPAdvertisements, a)
			}
		}
	}
	sort.Slice(c.BGPAdvertisements, func(i, j int) bool { return c.BGPAdvertisements[i].Name < c.BGPAdvertisements[j].Name })
}

// Pool is a validated IPAddressPool.
type Pool struct {
	Name          string
	Labels        map[string]string
	Ranges        []addr.Range
	AutoAssign    bool
	AvoidBuggyIPs bool
	// Priority: lower first, 0 = after every prioritised pool.
	Priority int
	// Namespaces, NamespaceSelectors and ServiceSelectors restrict which
	// Services may use the pool; all empty means every Service.
	Namespaces         []string
	NamespaceSelectors []labels.Selector
	ServiceSelectors   []labels.Selector
	// Notes say how entries of spec.addresses were read when that differs
	// from how they were written ("spec.addresses[0]: 198.51.100.10/24
	// read as 198.51.100.0/24"), for the pool's status; not problems.
	Notes []string
}

// L2Advertisement is a validated L2Advertisement.
type L2Advertisement struct {
	Name string
	// Pools is the set of pool names this advertisement covers.
	Pools map[string]bool
	// NodeSelectors: empty means every node.
	NodeSelectors []labels.Selector
	// Interfaces: empty means every usable interface.
	Interfaces []string
	// ServiceSelectors: empty means every Service of the pools.
	ServiceSelectors []labels.Selector
	// PreferredNodes are weighted soft preferences for the announcing node.
	PreferredNodes []NodePreference
}

// NodePreference is one weighted node preference of an L2Advertisement.
type NodePreference struct {
	Weight   int32
	Selector labels.Selector
}

// BGPAdvertisement is a validated BGPAdvertisement.
type BGPAdvertisement struct {
	Name                string
	Pools               map[string]bool
	AggregationLength   int
	AggregationLengthV6 int
	LocalPref           uint32
	// Communities are resolved literals ("65000:1", "large:1:2:3").
	Communities   []string
	NodeSelectors []labels.Selector
	// Peers: empty means every peer.
	Peers []string
	// ServiceSelectors: empty means every Service of the pools.
	ServiceSelectors []labels.Selector
}

// Peer is a validated BGPPeer: the session itself (bgpmodel.Peer, what
// internal/bgp runs) plus what only the cluster knows: which nodes run it
// and where its password lives. This package checks what needs only the
// object (required fields, addresses, ASN rules); internal/bgp fills
// defaults and checks the limits of the wire (timers, key length).
type Peer struct {
	bgpmodel.Peer
	NodeSelectors []labels.Selector
	// PasswordSecret names a basic-auth Secret whose password the speaker
	// reads into Peer.Password.
	PasswordSecret string
	// Unsupported lists fields set on the peer that the speaker cannot
	// honour (BFD echo mode, VRF, unnumbered interface): the peer is kept
	// out of service and each entry becomes a status condition.
	Unsupported []string
}

// PoolOf names the pool containing ip, or "" when none does. Build drops
// overlapping pools, so at most one can match and map order does not
// matter. Cost: O(pools × ranges per pool).
func (c *Config) PoolOf(ip netip.Addr) string {
	for name, p := range c.Pools {
		for _, r := range p.Ranges {
			if r.Contains(ip) {
				return name
			}
		}
	}
	return ""
}
