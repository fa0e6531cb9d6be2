package bgpplan

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
)

// Input is everything Plan needs; the speaker fills it from its caches.
type Input struct {
	Config *config.Config
	// Node is this speaker's node name.
	Node string
	// Nodes and Services are the same values internal/l2plan plans with.
	Nodes    []eligibility.Node
	Services []eligibility.Service
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
	Peers []bgpmodel.Peer
	// Refused are peers selecting this node that are not run, by name.
	Refused []Refusal
	// Advertisements, sorted by name; each names its peers explicitly.
	Advertisements []bgpmodel.Advertisement
	// Services maps the key of every Service this node advertises to the
	// sorted names of the peers it is advertised to (possibly none, when
	// no running peer carries its family).
	Services map[string][]string
	// NotAdvertised says, for Services with IPs this node does not
	// advertise, why (the first reason found), for Events and debugging.
	NotAdvertised map[string]string
	// IPs is this node's verdict on every LoadBalancer IP of the input
	// Services: the peers it is sent to, or why not (see IPVerdict).
	IPs map[netip.Addr]IPVerdict
	// Problems are inputs the plan had to skip (an aggregation length
	// that does not fit, an unparsable community); normally empty since
	// config.Build validates both.
	Problems []string
}

// Reasons of IPVerdict besides internal/eligibility's node and endpoint
// reasons (NodeExcluded, NodeNetworkUnavailable, NodeUnknown,
// NoReadyEndpoints, NoLocalEndpoint, AddressNotInPool).
const (
	// ReasonNoBGPAdvertisement: no BGPAdvertisement covers the IP's pool.
	ReasonNoBGPAdvertisement = "NoBGPAdvertisement"
	// ReasonServiceNotSelected: the pool's BGPAdvertisements do not select
	// the Service (serviceSelectors).
	ReasonServiceNotSelected = "ServiceNotSelected"
	// ReasonNodeNotSelected: they do not select this node (nodeSelectors).
	ReasonNodeNotSelected = string(eligibility.ReasonNodeNotSelected)
	// ReasonAggregationRefused: the advertisement's aggregation length
	// does not fit the IP (reported in Plan.Problems too).
	ReasonAggregationRefused = "AggregationRefused"
	// ReasonNoPeer: advertisements apply, but no peer this node runs
	// receives the prefix (no BGPPeer selects the node, it is refused, or
	// none carries the family or is named by the advertisement).
	ReasonNoPeer = "NoPeer"
)

// IPVerdict is one IP's BGP outcome on this node. Selected is true when a
// BGPAdvertisement applies to it here; Peers are the running peers that
// receive its prefix (sessions established or not: the speaker adds the
// session states). When not Selected, or Selected with no Peers, Reason
// and Message say why. For an IP shared by several Services it is
// Selected when any of them is, with every such Service's peers, and
// otherwise carries the reason of the Service whose key sorts first.
type IPVerdict struct {
	Selected bool
	Peers    []string
	Reason   string
	Message  string
	// service is the key the reason came from (for the tie-break).
	service string
}

// note merges one Service's verdict on ip into p.IPs.
func (p *Plan) note(ip netip.Addr, key string, v IPVerdict) {
	v.service = key
	old, seen := p.IPs[ip]
	switch {
	case !seen:
		p.IPs[ip] = v
	case old.Selected && v.Selected:
		old.Peers = append(old.Peers, v.Peers...)
		p.IPs[ip] = old
	case v.Selected || (!old.Selected && key < old.service):
		p.IPs[ip] = v
	}
}

// Compute returns this node's plan. It never fails: what cannot be
// planned is reported in the Plan and the rest still applies.
func Compute(in Input) Plan {
	p := Plan{Services: map[string][]string{}, NotAdvertised: map[string]string{}, IPs: map[netip.Addr]IPVerdict{}}
	cfg := in.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	self, known := nodeNamed(in.Nodes, in.Node)
	p.Peers, p.Refused = peersFor(cfg.Peers, self, in)
	running := map[string]bgpmodel.Peer{}
	for _, pr := range p.Peers {
		running[pr.Name] = pr
	}

	var nodeRefusal eligibility.Refusal
	if !known {
		nodeRefusal = eligibility.Refusal{Reason: eligibility.ReasonNodeUnknown, Message: "node " + in.Node + " is unknown"}
	} else {
		nodeRefusal = nodeChain.Evaluate(self, nil)
	}

	ads := map[string]bgpmodel.Advertisement{}
	comms := map[string][]bgpmodel.Community{}
	from := map[string]string{} // advertisement name -> BGPAdvertisement
	for _, s := range in.Services {
		refusal := nodeRefusal
		if !refusal.Refused() {
			refusal = eligibility.Endpoints(self, []*eligibility.Service{&s})
		}
		if refusal.Refused() {
			p.NotAdvertised[s.Key] = refusal.Message
			for _, ip := range s.IPs {
				p.note(ip, s.Key, IPVerdict{Reason: string(refusal.Reason), Message: refusal.Message})
			}
			continue
		}
		var peers []string
		advertised := false
		for _, ip := range s.IPs {
			pool := cfg.PoolOf(ip)
			if pool == "" {
				p.NotAdvertised[s.Key] = fmt.Sprintf("%s is in no IPAddressPool", ip)
				p.note(ip, s.Key, IPVerdict{Reason: string(eligibility.ReasonNotInPool), Message: p.NotAdvertised[s.Key]})
				continue
			}
			covered, svcSelected, selected := false, false, false
			var ipPeers []string
			ipOK, aggErr := false, ""
			for _, a := range cfg.BGPAdvertisements {
				if !a.Pools[pool] {
					continue
				}
				covered = true
				if !config.SelectsService(a.ServiceSelectors, s.Labels) {
					continue
				}
				svcSelected = true
				if !config.SelectsNode(a.NodeSelectors, self.Labels) {
					continue
				}
				selected = true
				prefix, err := bgpmodel.Aggregate(ip, a.AggregationLength, a.AggregationLengthV6)
				if err == nil && !insidePool(cfg.Pools[pool], prefix) {
					err = fmt.Errorf("aggregate %s of %s reaches outside IPAddressPool %s; not announced", prefix, ip, pool)
				}
				if err != nil {
					p.Problems = append(p.Problems, fmt.Sprintf("BGPAdvertisement %q: %v", a.Name, err))
					aggErr = fmt.Sprintf("BGPAdvertisement %s: %v", a.Name, err)
					continue
				}
				advertised, ipOK = true, true
				targets := targetsOf(a, prefix, running)
				peers = append(peers, targets...)
				ipPeers = append(ipPeers, targets...)
				name := a.Name + "/" + prefix.String()
				if _, dup := ads[name]; dup {
					continue
				}
				c, ok := comms[a.Name]
				if !ok {
					var err error
					if c, err = bgpmodel.ParseCommunities(a.Communities); err != nil {
						p.Problems = append(p.Problems, fmt.Sprintf("BGPAdvertisement %q: %v", a.Name, err))
					}
					comms[a.Name] = c
				}
				// Peers stay as the advertisement wrote them (empty: all):
				// internal/bgp applies family and localPref rules itself
				// and reports localPref sent towards eBGP peers.
				ads[name] = bgpmodel.Advertisement{Name: name, Prefix: prefix, Communities: c, LocalPref: a.LocalPref, Peers: a.Peers}
				from[name] = a.Name
			}
			v := IPVerdict{Selected: ipOK}
			switch {
			case !covered:
				v.Reason, v.Message = ReasonNoBGPAdvertisement, "no BGPAdvertisement covers IPAddressPool "+pool
			case !svcSelected:
				v.Reason, v.Message = ReasonServiceNotSelected, "no BGPAdvertisement for IPAddressPool "+pool+" selects the Service (serviceSelectors)"
			case !selected:
				v.Reason, v.Message = ReasonNodeNotSelected, "no BGPAdvertisement for IPAddressPool "+pool+" selects node "+in.Node
			case !ipOK:
				v.Reason, v.Message = ReasonAggregationRefused, aggErr
			default:
				slices.Sort(ipPeers)
				v.Peers = slices.Compact(ipPeers)
			}
			if !ipOK {
				p.NotAdvertised[s.Key] = v.Message
			}
			p.note(ip, s.Key, v)
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
	for ip, v := range p.IPs {
		if v.Selected {
			slices.Sort(v.Peers)
			v.Peers = slices.Compact(v.Peers)
			if len(v.Peers) == 0 {
				v.Reason, v.Message = ReasonNoPeer, noPeer(in.Node, ip, p)
			}
			p.IPs[ip] = v
		}
	}
	p.Problems = append(p.Problems, localPrefConflicts(p.Advertisements, from, running)...)
	sort.Strings(p.Problems)
	return p
}

// targetsOf lists the running peers that really receive prefix from a.
func targetsOf(a *config.BGPAdvertisement, prefix netip.Prefix, running map[string]bgpmodel.Peer) []string {
	ad := bgpmodel.Advertisement{Prefix: prefix, LocalPref: a.LocalPref, Peers: a.Peers}
	var out []string
	for name, pr := range running {
		if pr.Receives(ad) {
			out = append(out, name)
		}
	}
	return out
}

// nodeChain is what a node must pass to advertise anything; memberlist
// liveness is not in it (a node whose speaker is down stops by itself
// when its sessions drop).
var nodeChain = eligibility.Chain{eligibility.NetworkAvailable, eligibility.NotExcluded}

func nodeNamed(nodes []eligibility.Node, name string) (eligibility.Node, bool) {
	for _, n := range nodes {
		if n.Name == name {
			return n, true
		}
	}
	return eligibility.Node{Name: name}, false
}

// Message is the refusal's reasons as one sentence list.
func (r Refusal) Message() string { return strings.Join(r.Reasons, "; ") }

// noPeer says why no running peer receives ip.
func noPeer(node string, ip netip.Addr, p Plan) string {
	if len(p.Peers) == 0 {
		msg := "no BGPPeer runs on node " + node
		if len(p.Refused) > 0 {
			var names []string
			for _, r := range p.Refused {
				names = append(names, r.Peer+" ("+r.Message()+")")
			}
			msg += ": refused " + strings.Join(names, "; ")
		}
		return msg
	}
	var names []string
	for _, pr := range p.Peers {
		names = append(names, pr.Name)
	}
	fam := "IPv4"
	if ip.Is6() {
		fam = "IPv6"
	}
	return fmt.Sprintf("none of the peers node %s runs (%s) carries %s or is named by the BGPAdvertisement", node, strings.Join(names, ", "), fam)
}
