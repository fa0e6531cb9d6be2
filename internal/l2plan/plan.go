package l2plan

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/election"
)

// ExcludeLabel keeps a node out of every announcement.
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// Node is what the plan needs of a Node.
type Node struct {
	Name               string
	Labels             map[string]string
	Alive              bool
	NetworkUnavailable bool
}

// Service is what the plan needs of a LoadBalancer Service.
type Service struct {
	Key string // namespace/name
	IPs []netip.Addr
	// Local is externalTrafficPolicy: Local.
	Local bool
	// ReadyNodes are the nodes with a ready endpoint of the Service.
	ReadyNodes map[string]bool
}

// Decision is the outcome for one IP.
type Decision struct {
	// Node announces the IP; empty when no node may.
	Node string
	// Services are the keys of the Services on the IP, sorted.
	Services []string
	// Interfaces limit the winner's interfaces; empty means all usable.
	Interfaces []string
	// Reason says why Node is empty, for an Event.
	Reason string
}

// Plan returns the decision for every IP of svcs.
func Plan(cfg *config.Config, nodes []Node, svcs []Service) map[netip.Addr]Decision {
	byIP := map[netip.Addr][]*Service{}
	for i := range svcs {
		for _, ip := range svcs[i].IPs {
			byIP[ip] = append(byIP[ip], &svcs[i])
		}
	}
	out := make(map[netip.Addr]Decision, len(byIP))
	units := make([]election.Unit, 0, len(byIP))
	advsOf := map[netip.Addr][]*config.L2Advertisement{}
	for ip, ss := range byIP {
		d := Decision{}
		for _, s := range ss {
			d.Services = append(d.Services, s.Key)
		}
		sort.Strings(d.Services)
		pool := poolOf(cfg, ip)
		if pool == "" {
			d.Reason = "the address is in no IPAddressPool"
			out[ip] = d
			continue
		}
		advs := advertisementsFor(cfg, pool)
		if len(advs) == 0 {
			d.Reason = "no L2Advertisement covers IPAddressPool " + pool
			out[ip] = d
			continue
		}
		advsOf[ip] = advs
		var cands []string
		reason := ""
		for _, n := range nodes {
			if r := nodeRefusal(n, advs, ss); r != "" {
				if reason == "" {
					reason = r
				}
				continue
			}
			cands = append(cands, n.Name)
		}
		if len(cands) == 0 {
			d.Reason = "no node may announce it: " + reason
		}
		out[ip] = d
		units = append(units, election.Unit{Key: ip.String(), Candidates: cands})
	}
	winners := election.Assign(units)
	for _, u := range units {
		ip := netip.MustParseAddr(u.Key)
		d := out[ip]
		d.Node = winners[u.Key]
		if d.Node != "" {
			d.Interfaces = interfacesFor(advsOf[ip], nodeByName(nodes, d.Node))
		}
		out[ip] = d
	}
	return out
}

// nodeRefusal returns why n may not announce an IP carried by ss, or "".
func nodeRefusal(n Node, advs []*config.L2Advertisement, ss []*Service) string {
	switch {
	case !n.Alive:
		return "node " + n.Name + " is not alive"
	case n.NetworkUnavailable:
		return "node " + n.Name + " has NetworkUnavailable"
	case n.Labels[ExcludeLabel] != "" || hasKey(n.Labels, ExcludeLabel):
		return "node " + n.Name + " is excluded from external load balancers"
	}
	selected := false
	for _, a := range advs {
		if config.SelectsNode(a.NodeSelectors, n.Labels) {
			selected = true
			break
		}
	}
	if !selected {
		return "no L2Advertisement selects node " + n.Name
	}
	for _, s := range ss {
		if len(s.ReadyNodes) == 0 {
			return "Service " + s.Key + " has no ready endpoints"
		}
		if s.Local && !s.ReadyNodes[n.Name] {
			return "Service " + s.Key + " has externalTrafficPolicy Local and no ready endpoint on node " + n.Name
		}
	}
	return ""
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

func poolOf(cfg *config.Config, ip netip.Addr) string {
	for name, p := range cfg.Pools {
		for _, r := range p.Ranges {
			if r.Contains(ip) {
				return name
			}
		}
	}
	return ""
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
func interfacesFor(advs []*config.L2Advertisement, n Node) []string {
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

func nodeByName(nodes []Node, name string) Node {
	for _, n := range nodes {
		if n.Name == name {
			return n
		}
	}
	return Node{}
}
