// Package l2plan decides, from the same inputs on every speaker, which
// node announces each LoadBalancer IP in layer 2 mode; internal/bgpplan is
// its BGP counterpart with the same shape (Input, Compute, Plan). It is
// pure: the speaker gathers Services, endpoints, Nodes, liveness and
// configuration, and every speaker arrives at the same plan without
// talking to the others.
//
// The unit of election is a group of IPs: every address of a Service (the
// IPv4 and IPv6 addresses of a dual-stack one) and, transitively, every
// address of the Services sharing one of them, so one node answers for
// all of them (one conntrack table, one place to look). A group counts
// once in the load cap, so the spread evens out across Services; a group
// whose addresses have no candidate in common is split into single IPs,
// each still announced. A node is a candidate for an IP when internal/eligibility's chain lets it through for every Service
// on that IP, in this order (the first refusal is the node's reason):
//   - it is alive (memberlist, or Node readiness as a fallback);
//   - it is not NetworkUnavailable and not labelled
//     node.kubernetes.io/exclude-from-external-load-balancers;
//   - an L2Advertisement covering the address's pool selects it;
//   - when Input.Carriers is set, one of its interfaces that may carry
//     the address is up (link-aware election: a node alive on its
//     management network but cut from the LAN is refused, InterfaceDown);
//   - every Service on the address has a ready endpoint somewhere, and
//     with externalTrafficPolicy Local, one on this node.
//
// Advertisements apply per Service: of the L2Advertisements covering the
// pool, only those whose serviceSelectors select the Service count (for
// node selection, interfaces and preferences). Services sharing an address
// must be selected by the same advertisements, otherwise the address is
// refused (ReasonSelectionDiffers): MetalLB elects per Service and could
// then have two nodes answer for one IP.
//
// # Damped fail-back
//
// A node marked Settling (it came back: its speaker restarted or a LAN
// link came up again, and it has not been stable for the damping time
// yet; the speaker learns this from the node's gossiped metadata, so
// every speaker agrees) is left out of the election while a settled node
// is eligible for the address; with only settling nodes eligible, they
// are candidates as usual. Damping is applied before preference, so a
// preferred node that comes back takes its addresses back only once it
// has settled. With the spread computed over the settled nodes only, the
// returning node's share moves to it in one step when it settles.
//
// # Preferred nodes
//
// preferredNodeSelectors narrow the candidates before the election: a
// node's weight is the sum of the weights of the preferences it matches
// (of the advertisements that select it), and only the eligible nodes of
// the highest weight present stay candidates. When that tier is empty (no
// eligible node matches any preference) every eligible node stays, so a
// preference never leaves an address unannounced, and when the preferred
// node dies the address fails over to the next tier, then to any node.
//
// Preference beats the load cap: internal/election's cap (6/5 of the
// average) spreads IPs only within each IP's candidate set, so all IPs
// preferring one node sit on it however many they are. The election
// places units with fewer candidates first, so those IPs fill the
// preferred node's share before IPs without a preference are placed, and
// the latter (which keep the even spread and minimal movement) go to
// other nodes once it is full. A tier of several nodes shares its IPs
// evenly, up to the cap each, then least loaded first.
//
// Among candidates, internal/election spreads IPs evenly and moves few.
// An IP no node may announce keeps its Refusal (for the NotAnnounced
// Event), and every Decision lists the refused nodes with their reasons.
//
// Cost: O(IPs × nodes × advertisements per pool) for the checks, plus
// O(IPs × nodes × preferences) when preferences are set, plus the
// election's own cost (see internal/election). BenchmarkPreferredNodes
// measures both.
package l2plan
