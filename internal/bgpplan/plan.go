package bgpplan

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/l2plan"
)

// Input is everything Plan needs; the speaker fills it from its caches.
type Input struct {
	Config *config.Config
	// Node is this speaker's node name.
	Node string
	// Nodes and Services are the same values internal/l2plan plans with.
	Nodes    []l2plan.Node
	Services []l2plan.Service
	// Passwords holds the MD5 password of every usable passwordSecret in
	// the speaker's namespace, by Secret name. A peer naming a Secret
	// missing here is refused.
	Passwords map[string]string
	// IPv6NextHop is this node's IPv6 address, the next hop for IPv6
	// prefixes sent over dual-stack IPv4 sessions. Optional.
	IPv6NextHop netip.Addr
}

// Refusal is a peer selecting this node that the speaker will not run.
type Refusal struct {
	Peer string
	// Unsupported is true when the peer sets fields barelb cannot honour
	// (config.Peer.Unsupported); false for problems of this node's inputs
	// such as an unreadable passwordSecret.
	Unsupported bool
	Reasons     []string
}

// Plan is what this node's speaker should run.
type Plan struct {
	// Peers are the sessions to keep up, sorted by name.
	Peers []bgp.Peer
	// Refused are peers selecting this node that are not run, by name.
	Refused []Refusal
	// Advertisements, sorted by name; each names its peers explicitly.
	Advertisements []bgp.Advertisement
	// Services maps the key of every Service this node advertises to the
	// sorted names of the peers it is advertised to (possibly none, when
	// no running peer carries its family).
	Services map[string][]string
	// NotAdvertised says, for Services with IPs this node does not
	// advertise, why (the first reason found), for Events and debugging.
	NotAdvertised map[string]string
	// Problems are inputs the plan had to skip (an aggregation length
	// that does not fit, an unparsable community); normally empty since
	// config.Build validates both.
	Problems []string
}

// Compute returns this node's plan. It never fails: what cannot be
// planned is reported in the Plan and the rest still applies.
func Compute(in Input) Plan {
	p := Plan{Services: map[string][]string{}, NotAdvertised: map[string]string{}}
	cfg := in.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	self, known := nodeNamed(in.Nodes, in.Node)
	p.Peers, p.Refused = peersFor(cfg.Peers, self, in)
	running := map[string]bgp.Peer{}
	for _, pr := range p.Peers {
		running[pr.Name] = pr
	}

	nodeReason := ""
	switch {
	case !known:
		nodeReason = "node " + in.Node + " is unknown"
	case self.NetworkUnavailable:
		nodeReason = "node " + in.Node + " has NetworkUnavailable"
	case hasKey(self.Labels, l2plan.ExcludeLabel):
		nodeReason = "node " + in.Node + " is excluded from external load balancers"
	}

	ads := map[string]bgp.Advertisement{}
	comms := map[string][]bgp.Community{}
	for _, s := range in.Services {
		if nodeReason != "" {
			p.NotAdvertised[s.Key] = nodeReason
			continue
		}
		if r := serviceRefusal(s, in.Node); r != "" {
			p.NotAdvertised[s.Key] = r
			continue
		}
		var peers []string
		advertised := false
		for _, ip := range s.IPs {
			pool := poolOf(cfg, ip)
			if pool == "" {
				p.NotAdvertised[s.Key] = fmt.Sprintf("%s is in no IPAddressPool", ip)
				continue
			}
			covered, selected := false, false
			for _, a := range cfg.BGPAdvertisements {
				if !a.Pools[pool] {
					continue
				}
				covered = true
				if !config.SelectsNode(a.NodeSelectors, self.Labels) {
					continue
				}
				selected = true
				prefix, err := bgp.Aggregate(ip, a.AggregationLength, a.AggregationLengthV6)
				if err != nil {
					p.Problems = append(p.Problems, fmt.Sprintf("BGPAdvertisement %q: %v", a.Name, err))
					continue
				}
				advertised = true
				targets := targetsOf(a, prefix, running)
				peers = append(peers, targets...)
				name := a.Name + "/" + prefix.String()
				if _, dup := ads[name]; dup {
					continue
				}
				c, ok := comms[a.Name]
				if !ok {
					var err error
					if c, err = bgp.ParseCommunities(a.Communities); err != nil {
						p.Problems = append(p.Problems, fmt.Sprintf("BGPAdvertisement %q: %v", a.Name, err))
					}
					comms[a.Name] = c
				}
				// Peers stay as the advertisement wrote them (empty: all):
				// internal/bgp applies family and localPref rules itself
				// and reports localPref sent towards eBGP peers.
				ads[name] = bgp.Advertisement{Name: name, Prefix: prefix, Communities: c, LocalPref: a.LocalPref, Peers: a.Peers}
			}
			switch {
			case !covered:
				p.NotAdvertised[s.Key] = "no BGPAdvertisement covers IPAddressPool " + pool
			case !selected:
				p.NotAdvertised[s.Key] = "no BGPAdvertisement for IPAddressPool " + pool + " selects node " + in.Node
			}
		}
		if advertised {
			slices.Sort(peers)
			p.Services[s.Key] = slices.Compact(peers)
		}
	}
	for _, a := range ads {
		p.Advertisements = append(p.Advertisements, a)
	}
	sort.Slice(p.Advertisements, func(i, j int) bool { return p.Advertisements[i].Name < p.Advertisements[j].Name })
	sort.Strings(p.Problems)
	return p
}

// serviceRefusal returns why node may not advertise s, or "".
func serviceRefusal(s l2plan.Service, node string) string {
	if len(s.ReadyNodes) == 0 {
		return "Service " + s.Key + " has no ready endpoints"
	}
	if s.Local && !s.ReadyNodes[node] {
		return "Service " + s.Key + " has externalTrafficPolicy Local and no ready endpoint on node " + node
	}
	return ""
}

// targetsOf lists the running peers that really receive prefix from a:
// the ones it names (all when none), whose session carries the family,
// and, when a sets localPref, only iBGP ones.
func targetsOf(a *config.BGPAdvertisement, prefix netip.Prefix, running map[string]bgp.Peer) []string {
	var out []string
	for name, pr := range running {
		if len(a.Peers) > 0 && !slices.Contains(a.Peers, name) {
			continue
		}
		if !carries(pr, prefix.Addr().Is4()) {
			continue
		}
		if a.LocalPref != 0 && !internal(pr) {
			continue
		}
		out = append(out, name)
	}
	return out
}

func carries(p bgp.Peer, v4 bool) bool {
	return p.DualStack || p.Address.Unmap().Is4() == v4
}

func internal(p bgp.Peer) bool {
	if p.DynamicASN != bgp.DynamicASNNone {
		return p.DynamicASN == bgp.DynamicASNInternal
	}
	return p.PeerASN == p.MyASN
}

func nodeNamed(nodes []l2plan.Node, name string) (l2plan.Node, bool) {
	for _, n := range nodes {
		if n.Name == name {
			return n, true
		}
	}
	return l2plan.Node{Name: name}, false
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func poolOf(cfg *config.Config, ip netip.Addr) string {
	names := make([]string, 0, len(cfg.Pools))
	for name := range cfg.Pools {
		names = append(names, name)
	}
	sort.Strings(names) // config.Build drops overlaps; sorting keeps it deterministic anyway
	for _, name := range names {
		for _, r := range cfg.Pools[name].Ranges {
			if r.Contains(ip) {
				return name
			}
		}
	}
	return ""
}

// Message is the refusal's reasons as one sentence list.
func (r Refusal) Message() string { return strings.Join(r.Reasons, "; ") }
