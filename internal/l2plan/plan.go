package l2plan

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/election"
	"github.com/barelb/barelb/internal/eligibility"
)

// Input is everything Compute needs; the speaker fills it from its caches.
type Input struct {
	Config   *config.Config
	Nodes    []eligibility.Node
	Services []eligibility.Service
	// Carriers, if set, says which of a node's interfaces may carry ip
	// now, given the interfaces the L2Advertisements allow it (nil: any);
	// no names refuses the node with reason (link-aware election, see
	// carriers.go). Nil means every node can carry every IP.
	Carriers func(node string, ip netip.Addr, interfaces []string) (names []string, reason string)
}

// Plan is the decision for every LoadBalancer IP.
type Plan struct {
	Decisions map[netip.Addr]Decision
}

// Decision is the outcome for one IP.
type Decision struct {
	// Node announces the IP; empty when no node may.
	Node string
	// Services are the keys of the Services on the IP, sorted.
	Services []string
	// Interfaces limit the winner's interfaces; empty means all usable.
	Interfaces []string
	// Refusal says why Node is empty (for the NotAnnounced Event).
	Refusal eligibility.Refusal
	// Refused holds, per node that may not announce the IP, why; nodes
	// that may but lost the election are not in it.
	Refused map[string]eligibility.Refusal
}

// Compute returns the decision for every IP of in.Services.
func Compute(in Input) Plan {
	cfg := in.Config
	if cfg == nil {
		cfg = &config.Config{}
	}
	byIP := map[netip.Addr][]*eligibility.Service{}
	for i := range in.Services {
		for _, ip := range in.Services[i].IPs {
			byIP[ip] = append(byIP[ip], &in.Services[i])
		}
	}
	out := make(map[netip.Addr]Decision, len(byIP))
	units := make([]election.Unit, 0, len(byIP))
	advsOf := map[netip.Addr][]*config.L2Advertisement{}
	candsOf := map[netip.Addr][]string{} // IPs that go to the election
	members := map[string][]netip.Addr{} // election unit -> its IPs
	for ip, ss := range byIP {
		d := Decision{}
		for _, s := range ss {
			d.Services = append(d.Services, s.Key)
		}
		sort.Strings(d.Services)
		pool := cfg.PoolOf(ip)
		if pool == "" {
			d.Refusal = eligibility.Refusal{Reason: eligibility.ReasonNotInPool, Message: "the address is in no IPAddressPool"}
			out[ip] = d
			continue
		}
		advs := advertisementsFor(cfg, pool)
		if len(advs) == 0 {
			d.Refusal = eligibility.Refusal{Reason: eligibility.ReasonNoAdvertisement, Message: "no L2Advertisement covers IPAddressPool " + pool}
			out[ip] = d
			continue
		}
		sort.Slice(ss, func(i, j int) bool { return ss[i].Key < ss[j].Key })
		advs, r := forServices(pool, advs, ss)
		if r.Refused() {
			d.Refusal = r
			out[ip] = d
			continue
		}
		advsOf[ip] = advs
		chain := eligibility.Chain{
			eligibility.Alive, eligibility.NetworkAvailable, eligibility.NotExcluded,
			eligibility.SelectedBy("L2Advertisement", func(n eligibility.Node, _ []*eligibility.Service) bool {
				return slices.ContainsFunc(advs, func(a *config.L2Advertisement) bool { return config.SelectsNode(a.NodeSelectors, n.Labels) })
			}),
			carries(in.Carriers, ip, advs),
			eligibility.Endpoints,
		}
		var cands []eligibility.Node
		var first eligibility.Refusal
		for _, n := range in.Nodes {
			if r := chain.Evaluate(n, ss); r.Refused() {
				if d.Refused == nil {
					d.Refused = map[string]eligibility.Refusal{}
				}
				d.Refused[n.Name] = r
				if !first.Refused() {
					first = r
				}
				continue
			}
			cands = append(cands, n)
		}
		if len(cands) == 0 {
			d.Refusal = eligibility.Refusal{Reason: eligibility.ReasonNoNodeEligible, Message: "no node may announce it: " + first.Message}
			if !first.Refused() {
				d.Refusal.Message = "no node may announce it: the cluster has no nodes"
			}
		}
		out[ip] = d
		// Damping keeps a node that came back out of the election while
		// a settled node is eligible; preference then narrows to the
		// heaviest tier present (select.go). Both only narrow a non-empty
		// set, so failover still reaches any eligible node.
		cands = preferred(advs, settled(cands))
		names := make([]string, len(cands))
		for i, n := range cands {
			names[i] = n.Name
		}
		candsOf[ip] = names
	}
	for key, ips := range electionUnits(byIP, candsOf) {
		units = append(units, election.Unit{Key: key, Candidates: common(ips, candsOf)})
		members[key] = ips
	}
	winners := election.Assign(units)
	for key, ips := range members {
		for _, ip := range ips {
			d := out[ip]
			d.Node = winners[key]
			if d.Node != "" {
				d.Interfaces = interfacesFor(advsOf[ip], nodeByName(in.Nodes, d.Node))
			}
			out[ip] = d
		}
	}
	return Plan{Decisions: out}
}

// electionUnits groups the IPs that must be announced by one node: every
// IP of a Service (the IPv4 and IPv6 addresses of a dual-stack Service),
// and, transitively, every IP of Services sharing one of those. A group
// is elected as one unit keyed by its smallest IP, so it counts once in
// the load cap and the spread evens out across Services. A group whose
// IPs have no candidate in common is split back into single IPs: each is
// then announced by some node rather than none.
func electionUnits(byIP map[netip.Addr][]*eligibility.Service, candsOf map[netip.Addr][]string) map[string][]netip.Addr {
	parent := map[netip.Addr]netip.Addr{}
	var find func(netip.Addr) netip.Addr
	find = func(a netip.Addr) netip.Addr {
		if p, ok := parent[a]; ok && p != a {
			r := find(p)
			parent[a] = r
			return r
		}
		return a
	}
	union := func(a, b netip.Addr) {
		ra, rb := find(a), find(b)
		if ra == rb {
			return
		}
		if rb.Less(ra) {
			ra, rb = rb, ra
		}
		parent[rb] = ra // the smallest IP is the root
	}
	for ip := range candsOf {
		parent[ip] = ip
	}
	for ip, ss := range byIP {
		if _, ok := candsOf[ip]; !ok {
			continue
		}
		for _, s := range ss {
			for _, other := range s.IPs {
				if _, ok := candsOf[other]; ok {
					union(ip, other)
				}
			}
		}
	}
	groups := map[netip.Addr][]netip.Addr{}
	for ip := range candsOf {
		r := find(ip)
		groups[r] = append(groups[r], ip)
	}
	out := make(map[string][]netip.Addr, len(groups))
	for root, ips := range groups {
		slices.SortFunc(ips, netip.Addr.Compare)
		if len(ips) > 1 && len(common(ips, candsOf)) == 0 {
			for _, ip := range ips {
				out[ip.String()] = []netip.Addr{ip}
			}
			continue
		}
		out[root.String()] = ips
	}
	return out
}

// common is the candidates every IP of ips has.
func common(ips []netip.Addr, candsOf map[netip.Addr][]string) []string {
	out := slices.Clone(candsOf[ips[0]])
	for _, ip := range ips[1:] {
		out = slices.DeleteFunc(out, func(n string) bool { return !slices.Contains(candsOf[ip], n) })
	}
	return out
}

func advertisementsFor(cfg *config.Config, pool string) []*config.L2Advertisement {
	var out []*config.L2Advertisement
	for _, a := range cfg.L2Advertisements {
		if a.Pools[pool] {
			out = append(out, a)
		}
	}
	return out
}

// interfacesFor merges the interface lists of the advertisements that
// select the node; any advertisement without a list means every interface.
func interfacesFor(advs []*config.L2Advertisement, n eligibility.Node) []string {
	var out []string
	for _, a := range advs {
		if !config.SelectsNode(a.NodeSelectors, n.Labels) {
			continue
		}
		if len(a.Interfaces) == 0 {
			return nil
		}
		for _, i := range a.Interfaces {
			if !slices.Contains(out, i) {
				out = append(out, i)
			}
		}
	}
	sort.Strings(out)
	return out
}

func nodeByName(nodes []eligibility.Node, name string) eligibility.Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return eligibility.Node{}
}
