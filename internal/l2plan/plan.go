package l2plan

import (
	"net/netip"
	"slices"
	"sort"

	"github.com/barelb/barelb/internal/config"
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
	// Refused holds, per node refused by a node check (alive, network,
	// excluded, not selected by an L2Advertisement) or by its interfaces
	// (link-aware election), why; nodes that may but lost the election
	// are not in it, and neither are refusals by the endpoint check:
	// RefusalOf gives every refusal. The map is shared by the decisions
	// of IPs with the same advertisements and, for a Planner, updated in
	// place by its later calls: read it, do not modify it.
	Refused map[string]eligibility.Refusal

	// What RefusalOf needs for the endpoint check: the Services on the
	// IP (sorted by key) and the nodes the plan knows (nil for an IP
	// refused before any node is checked).
	svcs  []*eligibility.Service
	known map[string]*eligibility.Node
}

// RefusalOf returns why node may not announce the IP: a refusal held in
// Refused (a node check or, with link-aware election, its interfaces) or
// else the endpoint check (no ready endpoint, or none on the node with
// externalTrafficPolicy Local), evaluated now. The zero Refusal means the
// node may announce the IP (it won or lost the election), or that the
// node is unknown to the plan.
//
// Endpoint refusals are not stored in Refused: with externalTrafficPolicy
// Local nearly every node is refused, and a map per IP over every node
// is the O(IPs × nodes) memory the planner avoids.
func (d Decision) RefusalOf(node string) eligibility.Refusal {
	if r, ok := d.Refused[node]; ok {
		return r
	}
	if d.known == nil {
		return eligibility.Refusal{}
	}
	if _, ok := d.known[node]; !ok {
		return eligibility.Refusal{}
	}
	return eligibility.Endpoints(eligibility.Node{Name: node}, d.svcs)
}

// Compute returns the decision for every IP of in.Services. It is a
// Planner used once: NewPlanner(in).Plan().
func Compute(in Input) Plan {
	return NewPlanner(in).Plan()
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
