package l2plan

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/election"
	"github.com/barelb/barelb/internal/eligibility"
)

// referenceCompute is Compute as it was before the Planner (one candidate
// list over every node per IP, election.Assign from scratch): the
// equivalence tests check the Planner against it.
func referenceCompute(in Input) Plan {
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
	for key, ips := range refElectionUnits(byIP, candsOf) {
		units = append(units, election.Unit{Key: key, Candidates: refCommon(ips, candsOf)})
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
func refElectionUnits(byIP map[netip.Addr][]*eligibility.Service, candsOf map[netip.Addr][]string) map[string][]netip.Addr {
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
		if len(ips) > 1 && len(refCommon(ips, candsOf)) == 0 {
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
func refCommon(ips []netip.Addr, candsOf map[netip.Addr][]string) []string {
	out := slices.Clone(candsOf[ips[0]])
	for _, ip := range ips[1:] {
		out = slices.DeleteFunc(out, func(n string) bool { return !slices.Contains(candsOf[ip], n) })
	}
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

// carries is the link-aware check: a node none of whose interfaces that
// may carry ip is up (as its speaker gossips them) cannot answer for ip,
// even though it is alive, so it is refused and the IP goes to a node
// that can. Without carriers every node passes, as before link states
// were gossiped.
func carries(carriers func(string, netip.Addr, []string) ([]string, string), ip netip.Addr, advs []*config.L2Advertisement) eligibility.Check {
	return func(n eligibility.Node, _ []*eligibility.Service) eligibility.Refusal {
		if carriers == nil {
			return eligibility.Refusal{}
		}
		names, reason := carriers(n.Name, ip, interfacesFor(advs, n))
		if len(names) > 0 {
			return eligibility.Refusal{}
		}
		return interfaceDown(n.Name, ip, reason)
	}
}
