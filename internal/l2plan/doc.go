// Package announce decides, from the same inputs on every speaker, which
// node announces each LoadBalancer IP in layer 2 mode. It is pure: the
// speaker gathers Services, endpoints, Nodes, liveness and configuration,
// and every speaker arrives at the same plan without talking to the others.
//
// The unit of election is the IP, not the Service, so Services sharing one
// address are always announced by one node. A node is a candidate for an
// IP when it is a candidate for every Service on that IP:
//   - an L2Advertisement covering the Service's pool selects the node;
//   - the node is alive (memberlist, or Node readiness as a fallback), not
//     NetworkUnavailable and not labelled
//     node.kubernetes.io/exclude-from-external-load-balancers;
//   - the Service has a ready endpoint somewhere, and with
//     externalTrafficPolicy Local, one on this node.
//
// Among candidates, internal/election spreads IPs evenly and moves few.
package l2plan
