package frrlab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
)

// JSON runs a show command ending in "json" and decodes its output.
func (r *Router) JSON(cmd string, v any) error {
	out, err := r.Vtysh(cmd)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		return fmt.Errorf("frrlab: %s: decoding %q: %w", cmd, truncate(out, 300), err)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// Neighbor is the part of "show bgp neighbors json" tests look at.
type Neighbor struct {
	RemoteAS               uint32 `json:"remoteAs"`
	LocalAS                uint32 `json:"localAs"`
	State                  string `json:"bgpState"`
	ConnectionsEstablished int    `json:"connectionsEstablished"`
	ConnectionsDropped     int    `json:"connectionsDropped"`
	LastResetDueTo         string `json:"lastResetDueTo"`
	RemoteRouterID         string `json:"remoteRouterId"`
	HoldTimeMsecs          int    `json:"bgpTimerHoldTimeMsecs"`
}

// Established reports whether the session is up.
func (n Neighbor) Established() bool { return n.State == "Established" }

// Neighbors returns every configured neighbor by address.
func (r *Router) Neighbors() (map[string]Neighbor, error) {
	var raw map[string]json.RawMessage
	if err := r.JSON("show bgp neighbors json", &raw); err != nil {
		return nil, err
	}
	out := make(map[string]Neighbor, len(raw))
	for k, v := range raw {
		if _, err := netip.ParseAddr(k); err != nil {
			continue // peer-group entries and other non-neighbor keys
		}
		var n Neighbor
		if err := json.Unmarshal(v, &n); err != nil {
			return nil, fmt.Errorf("frrlab: neighbor %s: %w", k, err)
		}
		out[k] = n
	}
	return out, nil
}

// Path is one BGP path of "show bgp <afi> unicast <prefix> json".
type Path struct {
	ASPath struct {
		String string `json:"string"`
	} `json:"aspath"`
	Community struct {
		String string `json:"string"`
	} `json:"community"`
	LargeCommunity struct {
		String string `json:"string"`
	} `json:"largeCommunity"`
	LocalPref *uint32 `json:"locPrf"`
	Valid     bool    `json:"valid"`
	Multipath bool    `json:"multipath"`
	Stale     bool    `json:"stale"`
	BestPath  *struct {
		Overall bool `json:"overall"`
	} `json:"bestpath"`
	Nexthops []struct {
		IP   string `json:"ip"`
		Used bool   `json:"used"`
	} `json:"nexthops"`
	Peer struct {
		PeerID   string `json:"peerId"`
		RouterID string `json:"routerId"`
		Type     string `json:"type"`
	} `json:"peer"`
}

// Communities returns the path's standard communities as FRR prints them.
func (p Path) Communities() []string { return strings.Fields(p.Community.String) }

// LargeCommunities returns the path's large communities.
func (p Path) LargeCommunities() []string { return strings.Fields(p.LargeCommunity.String) }

// Best reports whether this is the best path.
func (p Path) Best() bool { return p.BestPath != nil && p.BestPath.Overall }

// BGPPaths returns the BGP table's paths for exactly prefix (none if the
// prefix is not in the table).
func (r *Router) BGPPaths(prefix netip.Prefix) ([]Path, error) {
	var v struct {
		Prefix string `json:"prefix"`
		Paths  []Path `json:"paths"`
	}
	if err := r.JSON(fmt.Sprintf("show bgp %s unicast %s json", afi(prefix), prefix), &v); err != nil {
		return nil, err
	}
	if v.Prefix != "" && v.Prefix != prefix.String() {
		return nil, nil // FRR answered with a covering prefix
	}
	return v.Paths, nil
}

// RIBNexthop is a next hop of a zebra RIB entry.
type RIBNexthop struct {
	IP     string `json:"ip"`
	FIB    bool   `json:"fib"`
	Active bool   `json:"active"`
}

// RIBEntry is one route of "show ip[v6] route <prefix> json".
type RIBEntry struct {
	Prefix    string       `json:"prefix"`
	Protocol  string       `json:"protocol"`
	Selected  bool         `json:"selected"`
	Installed bool         `json:"installed"`
	Nexthops  []RIBNexthop `json:"nexthops"`
}

// FIBNexthops returns the addresses of the next hops zebra installed in
// the kernel for the entry.
func (e RIBEntry) FIBNexthops() []string {
	var out []string
	for _, n := range e.Nexthops {
		if n.FIB {
			out = append(out, n.IP)
		}
	}
	return out
}

// RIBRoute returns zebra's selected route for exactly prefix from
// protocol (for example "bgp"), or nil when there is none.
func (r *Router) RIBRoute(prefix netip.Prefix, protocol string) (*RIBEntry, error) {
	ip := "ip"
	if prefix.Addr().Is6() {
		ip = "ipv6"
	}
	var v map[string][]RIBEntry
	if err := r.JSON(fmt.Sprintf("show %s route %s json", ip, prefix), &v); err != nil {
		return nil, err
	}
	for _, e := range v[prefix.String()] {
		if e.Protocol == protocol && e.Selected {
			return &e, nil
		}
	}
	return nil, nil
}

// SummaryPeer is a neighbor's line in "show bgp summary json".
type SummaryPeer struct {
	State            string `json:"state"`
	PrefixesReceived int    `json:"pfxRcd"`
}

// Summary returns, per address family key ("ipv4Unicast", "ipv6Unicast"),
// each neighbor's state and received prefix count.
func (r *Router) Summary() (map[string]map[string]SummaryPeer, error) {
	var v map[string]struct {
		Peers map[string]SummaryPeer `json:"peers"`
	}
	if err := r.JSON("show bgp summary json", &v); err != nil {
		return nil, err
	}
	out := make(map[string]map[string]SummaryPeer, len(v))
	for fam, s := range v {
		out[fam] = s.Peers
	}
	return out, nil
}

func afi(p netip.Prefix) string {
	if p.Addr().Is4() {
		return "ipv4"
	}
	return "ipv6"
}
