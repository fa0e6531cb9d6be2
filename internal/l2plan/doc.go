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
// Event), and every Decision gives each refused node's reason
// (Decision.RefusalOf).
//
// # Planner
//
// Compute plans from scratch. A Planner keeps the plan, its classes and
// its election between calls, so that one Service set or deleted, or one
// node set or deleted, costs what it touches; after any sequence of calls
// its plan is the one Compute gives for the inputs it then holds
// (TestPlannerMatchesCompute and TestDeltaMatchesCompute check this on
// random changes, and TestComputeMatchesReference checks Compute against
// the plan before classes). A new configuration or link-aware check goes
// through Reset, a full plan. The election keeps its placement too (see
// internal/election): a change elects again only the IPs whose winner it
// can change, unless it reorders the placement (ElectionStats).
//
// Sync is what a caller that reads its whole input on every event (the
// speaker's snapshot) uses: it takes a full Input, finds what differs
// from what the Planner holds (the configuration by ConfigKey, Services
// and nodes by value, maps by identity first) and applies only that; the
// caller says whether the link-aware check may answer differently, as a
// function cannot be compared. Its plan is Compute's on the same Input
// (TestSyncMatchesCompute).
//
// # Cost
//
// IPs whose Services are selected by the same L2Advertisements form a
// class: the node checks (alive, network, excluded, selected) are run
// once per class and node, not per IP, and damping and preference narrow
// the class's eligible nodes once. Those are an election group (see
// internal/election), so an IP without a per-IP check costs its pool
// lookup, its serviceSelectors and one election unit, whatever the number
// of nodes. Per-IP work remains where the input is per IP: a Service with
// externalTrafficPolicy Local costs O(its ready nodes); with Carriers set
// (link-aware election) every IP asks Carriers once per eligible node,
// O(IPs × nodes) again. With N nodes, C classes, a advertisements a pool,
// s Services an IP:
//
//	Compute, NewPlanner   O(C·N·a + IPs·(s·a + log pools)) + per-IP checks + a cold election
//	Planner.SetService,   O(s·a) for its IPs and those sharing a unit with them, + Place
//	DeleteService
//	Planner.SetNode,      O(N + a) for each class it is (or was) a candidate of, SetGroup
//	DeleteNode            for the class whose candidates changed (O(N + N·V) for V = 32
//	                      ring points a node, plus the units ranking it), the Local IPs
//	                      ready on it, + Place; O(units) more when its labels changed
//	Place (incremental)   O(N) + O(log) per unit elected again: the units changed and
//	                      those each move reaches (about the IPs that move); the full
//	                      pass, O(N log N + units), only when the placement order
//	                      changed (ElectionStats counts it)
//	Planner.Sync          O(S + N) compares (plus the content of maps not the same as
//	                      the held ones) + what changed, as above; a full plan past
//	                      32 node changes or S/4 Service changes
//	memory                O(C·N) for the classes' refusals, O(IPs) for the rest
//
// Decision.Refused holds the node-check refusals, shared by a class's
// IPs (plus link refusals with Carriers); the endpoint check's refusals
// (NoReadyEndpoints, NoLocalEndpoint) are computed on demand by
// Decision.RefusalOf, as a map over every node per Local IP would bring
// back the O(IPs × nodes) memory.
//
// Measured by make bench-scale (BenchmarkScalePlan) on a 2-core machine
// shared with other work (load average 11 to 13; CPU time of the process,
// then wall time), 5,000 nodes and 50,000 Services: a full plan 410 ms
// (1.4 s wall) for 50,000 IPv4 IPs, 408 ms for the dual-stack mix's
// 66,666 IPs (284 ms CPU, 533 ms wall for IPv4 on a quieter run). Before
// the election's Place was incremental, one Service added took 2.8 to
// 4.7 ms (8 to 14 ms wall), one node gone 8.3 to 10 ms, one node added
// 12 ms (21 to 28 ms wall), nearly all of it the election's SetGroup and
// Place; with it (load average 10 to 16, 3 runs), 0.06 to 0.11 ms (0.05
// to 0.12 ms wall), 3.3 to 3.7 ms for IPv4 and 3.4 to 6.1 ms dual-stack,
// and 3.5 to 4.1 ms, most of it now SetGroup's walk of the class's 5,000
// names and 160,000 ring points and the class's candidate list (these
// runs also count the GC of the benchmark's untimed copies of the plan).
// The plan before classes and groups (one candidate
// list over every node per IP, election.Assign from scratch;
// BenchmarkScalePlanReference) took 13.5 s of CPU for 10,000 dual-stack
// Services on 1,000 nodes, now 48 ms, and 23 s on 5,000 nodes for 1,000
// Services, now 44 ms.
//
// The speaker's per-event path, Sync with a whole Input (BenchmarkScaleSync,
// CPU time, 3 runs, load average 5 to 7), 5,000 nodes and 50,000
// Services, IPv4 then dual-stack: nothing changed 2.5 to 3.1 and 3.6 to
// 3.7 ms (the compare alone; 4.9 and 8.8 ms before a held Service was
// found at its index in the last Input; 14 to 19 and 19 to 20 ms when
// every ready nodes map is new and compared by content), one Service's
// endpoints changed 2.2 to 2.9 and 2.4 to 3.7 ms (14 and 17 ms before the
// incremental Place), one node gone 5.2 to 6.1 and 5.1 to 5.6 ms (22 and
// 25 ms), back 5.5 to 6.9 and 5.1 to 5.5 ms (23 and 33 ms), where Compute
// on every event takes 349 to 392 and 402 to 447 ms. The same events
// through the delta API (SetService, DeleteNode, SetNode: no compare):
// 0.29 to 0.41 and 0.25 to 0.32 ms, 2.4 to 3.3 and 2.3 to 2.5 ms, 2.3 to
// 3.6 and 2.1 to 2.3 ms, with no full election in any of them.
package l2plan
