// Package election decides which node announces which unit in layer 2 mode.
//
// A unit is one LoadBalancer IP: Services that share an IP share a unit, so
// they are always announced by the same node and never split across two
// MACs. Every speaker runs the election on the same inputs (its caches of
// Services, EndpointSlices, Nodes, L2Advertisements and the memberlist view)
// and must reach the same answer without talking to the others, so the
// decision is a pure, deterministic function of its input: no clocks, no
// randomness, no dependence on map or slice order.
//
// # Ranking
//
// The choice is consistent hashing with bounded loads (Mirrokni, Thorup
// and Zadimoghaddam, 2018). Each node has 32 points on a 64-bit ring, each
// unit one position; a unit ranks its candidates by how far clockwise from
// its position each candidate's nearest point lies, and takes the best
// ranked one that still has room. Like rendezvous hashing, a unit's ranking
// of two nodes does not depend on any other node, so a node joining or
// leaving moves the units it gains or loses plus the few the load cap
// pushes on; unlike rendezvous hashing over every node, finding a unit's
// first candidates costs a binary search and a short walk, not a hash per
// node. Measured at 5,000 nodes and 50,000 units (BenchmarkScaleNodeGone):
// a node leaving moves about 2.2 times the units it held, that is about
// 1/2,200 of the units instead of the ideal 1/5,000; the excess is the
// load cap's cascade (a moved unit takes room another unit then lacks).
//
// The ring replaced rendezvous hashing over every node (one hash per node
// and unit: 250 million at 5,000 nodes and 50,000 IPs). The two pick
// different nodes, so during a rolling upgrade between them speakers of
// the old and the new version disagree on the owner of most IPs until the
// last speaker is replaced.
//
// # Load bound
//
// The capacities add up to ceil(6/5 · units), spread as evenly as integers
// allow (the nodes first by a hash of their name get one more), so when all
// units have the same candidates no node holds more than
// ceil(6/5 · units / nodes): 30 units on 3 nodes, at most 12 each. One node
// coming or going changes the capacity of about units/nodes others rather
// than of every node at once. There is no lower bound: with few units per
// node some node may hold none. Units are placed in a fixed order: units
// with fewer candidates first (so a unit pinned to one node by
// externalTrafficPolicy: Local is not crowded out by units that could go
// anywhere), then by a hash of the key.
//
// # Complexity
//
// Assign is the pure function; an Election computes the same answer and
// keeps its work between calls, so that a change costs what it touches.
// Units name a shared candidate set (a group: say, every node an
// L2Advertisement selects) and, besides, a few candidates of their own
// (the nodes with a local endpoint). With U units, N nodes, V = 32 points a
// node, a group of G nodes held by U_g units and e own candidates a unit:
//
//	Assign                 O(U·c·log c) to read and sort c candidates per unit, then a full Place
//	SetGroup               O(G + G·V); to patch the cached ranks, O(V·w) when it removes
//	                       <= 2 nodes and adds <= 8 (w: the units ranking a node next to
//	                       a changed one, about 4·U_g/G), else O(U_g·a·log V), or past 8
//	                       added the U_g units are ranked again at the next Place
//	SetUnit, DeleteUnit    O(e log e) and O(log) a unit its leaving a node reaches
//	ranking one unit       O(log(G·V) + k + e·log V), k = 4 candidates kept
//	Place, incremental     O(N) for the capacities, plus O(log) for each unit elected
//	                       again: those a change marked and those each move reaches
//	Place, full            O(N log N + U) plus the ranking of units whose cached
//	                       candidates left, plus O(U log U) when counts changed (nearly
//	                       sorted, so close to linear)
//	memory                 about 16 bytes a point (G·V a group), 250 bytes a unit
//
// Place keeps the placement between calls (see place.go): each node lists
// the units it won and the units that rank it, in placement order, and a
// change elects again only the units whose choice it can reach (a unit
// changed, or one that ranks a node whose count of units before it
// crosses the node's capacity), in placement order, so the result is the
// full pass's. It places every unit again only when the placement order
// itself changed (a group's size crossing another unit's candidate count)
// or when a change reaches more than a fraction of the units; Stats
// counts both kinds.
//
// Measured by make bench-scale on a 2-core machine shared with other work
// (load average 11 to 15; wall time, then the process's CPU time): a cold
// election of 50,000 units on 5,000 nodes 180 ms (114 ms CPU). Before
// Place was incremental, one unit added took 5.7 ms (2.8 ms CPU) and one
// node gone, SetGroup with the new member list included, 23 ms (8.0 ms);
// with it (load average 10 to 15), 0.03 to 0.05 ms (0.06 ms) and 1.8 to
// 3.4 ms (2.3 to 2.6 ms), most of it SetGroup's walk of the 5,000 names
// and of the ring's 160,000 points.
//
// The package imports only the standard library.
package election
