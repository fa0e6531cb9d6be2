// Package election decides which node announces which unit in layer 2 mode.
//
// A unit is one LoadBalancer IP: Services that share an IP share a unit, so
// they are always announced by the same node and never split across two
// MACs. Every speaker runs Assign on the same inputs (its caches of
// Services, EndpointSlices, Nodes, L2Advertisements and the memberlist view)
// and must reach the same answer without talking to the others, so the
// decision is a pure, deterministic function of its input: no clocks, no
// randomness, no dependence on map or slice order.
//
// The choice is rendezvous (highest random weight) hashing with bounded
// load. Each unit ranks its candidates by a hash of (node, key) and takes
// the best-ranked one that still has room; a node's room is
// ceil(1.2 × units / nodes). Rendezvous ranking keeps a unit on its
// node as long as that node stays eligible, so a node joining or leaving
// moves little more than the units it gains or loses; the load bound makes
// the spread even for every input rather than on average (30 units on 3
// equal nodes: at most 12 each).
//
// Units are placed in a fixed order: units with fewer candidates first (so
// a unit pinned to one node by externalTrafficPolicy: Local is not crowded
// out by units that could go anywhere), then by a hash of the key. The
// package imports only the standard library.
package election
