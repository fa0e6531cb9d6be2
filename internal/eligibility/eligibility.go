// Package eligibility decides whether a node may announce a LoadBalancer
// address, for both modes: internal/l2plan (which node answers ARP/NDP)
// and internal/bgpplan (which nodes advertise a route) run the same
// checks, in the same order, and report the same reasons.
//
// A Chain is an ordered list of small Checks; the first that refuses
// gives the Refusal, whose Reason is a constant (for Events, status and
// `kubectl barelb explain`) and whose Message is the sentence a user
// reads. The package is pure: no client, no sockets. Each check is O(1)
// except Endpoints, which is O(Services on the address).
package eligibility

import "net/netip"

// ExcludeLabel keeps a node out of every announcement, as in MetalLB and
// the Kubernetes service controller.
const ExcludeLabel = "node.kubernetes.io/exclude-from-external-load-balancers"

// Node is what the planners need of a Node.
type Node struct {
	Name   string
	Labels map[string]string
	// Alive is memberlist's view (or Node readiness without memberlist).
	// Layer 2 needs it; BGP does not (a dead speaker's sessions drop).
	Alive              bool
	NetworkUnavailable bool
	// Settling: the node came back recently (speaker restarted, a LAN
	// link up again) and has not yet been stable for the damping time.
	// Layer 2 elects a settling node only when no settled one is eligible
	// (damped fail-back); it is never a refusal.
	Settling bool
}

// Service is what the planners need of a LoadBalancer Service.
type Service struct {
	Key string // namespace/name
	IPs []netip.Addr
	// Local is externalTrafficPolicy: Local.
	Local bool
	// ReadyNodes are the nodes with a ready endpoint of the Service.
	ReadyNodes map[string]bool
	// Labels are the Service's labels (advertisements' serviceSelectors).
	Labels map[string]string
}

// Reason names why a node does not announce an address.
type Reason string

// Reasons, shared by both modes.
const (
	ReasonNodeNotAlive       Reason = "NodeNotAlive"
	ReasonNodeUnknown        Reason = "NodeUnknown"
	ReasonNetworkUnavailable Reason = "NodeNetworkUnavailable"
	ReasonNodeExcluded       Reason = "NodeExcluded"
	ReasonNodeNotSelected    Reason = "NodeNotSelected"
	ReasonInterfaceDown      Reason = "InterfaceDown"
	ReasonNoReadyEndpoints   Reason = "NoReadyEndpoints"
	ReasonNoLocalEndpoint    Reason = "NoLocalEndpoint"
	ReasonNotInPool          Reason = "AddressNotInPool"
	ReasonNoAdvertisement    Reason = "NoAdvertisement"
	// ReasonSelectionDiffers: Services sharing one address are selected
	// by different advertisements (serviceSelectors), so no single set of
	// announcement attributes is right for the address.
	ReasonSelectionDiffers Reason = "SharedIPSelectionDiffers"
	ReasonNotElected       Reason = "NotElected"
	ReasonNoNodeEligible   Reason = "NoNodeEligible"
)

// Refusal is why a node does not announce an address.
type Refusal struct {
	Reason  Reason
	Message string
}

// Refused reports whether r holds a refusal (the zero Refusal means
// eligible).
func (r Refusal) Refused() bool { return r.Reason != "" }

// Check returns the refusal of n for an address carried by svcs, or the
// zero Refusal when this check lets n through.
type Check func(n Node, svcs []*Service) Refusal

// Chain runs checks in order and stops at the first refusal.
type Chain []Check

// Evaluate returns the first refusal, or the zero Refusal.
func (c Chain) Evaluate(n Node, svcs []*Service) Refusal {
	for _, check := range c {
		if r := check(n, svcs); r.Refused() {
			return r
		}
	}
	return Refusal{}
}

// Alive refuses a node memberlist (or Node readiness) reports dead.
func Alive(n Node, _ []*Service) Refusal {
	if !n.Alive {
		return Refusal{ReasonNodeNotAlive, "node " + n.Name + " is not alive"}
	}
	return Refusal{}
}

// NetworkAvailable refuses a node with the NetworkUnavailable condition.
func NetworkAvailable(n Node, _ []*Service) Refusal {
	if n.NetworkUnavailable {
		return Refusal{ReasonNetworkUnavailable, "node " + n.Name + " has NetworkUnavailable"}
	}
	return Refusal{}
}

// NotExcluded refuses a node carrying ExcludeLabel (any value).
func NotExcluded(n Node, _ []*Service) Refusal {
	if _, ok := n.Labels[ExcludeLabel]; ok {
		return Refusal{ReasonNodeExcluded, "node " + n.Name + " is excluded from external load balancers"}
	}
	return Refusal{}
}

// Endpoints refuses when a Service on the address has no ready endpoint,
// or, with externalTrafficPolicy Local, none on this node: traffic sent
// there would be dropped.
func Endpoints(n Node, svcs []*Service) Refusal {
	for _, s := range svcs {
		if len(s.ReadyNodes) == 0 {
			return Refusal{ReasonNoReadyEndpoints, "Service " + s.Key + " has no ready endpoints"}
		}
		if s.Local && !s.ReadyNodes[n.Name] {
			return Refusal{ReasonNoLocalEndpoint, "Service " + s.Key + " has externalTrafficPolicy Local and no ready endpoint on node " + n.Name}
		}
	}
	return Refusal{}
}

// SelectedBy refuses a node that no advertisement of the given kind
// (L2Advertisement, BGPAdvertisement) selects; selects reports whether
// one does.
func SelectedBy(kind string, selects func(Node, []*Service) bool) Check {
	return func(n Node, svcs []*Service) Refusal {
		if !selects(n, svcs) {
			return Refusal{ReasonNodeNotSelected, "no " + kind + " selects node " + n.Name}
		}
		return Refusal{}
	}
}
