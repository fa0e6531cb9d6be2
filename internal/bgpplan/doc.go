// Package bgpplan decides, for one node, what its BGP speaker runs: which
// BGPPeer sessions to keep up and which LoadBalancer prefixes to announce
// to them, with which attributes. It is pure (no client, no sockets) so
// the MetalLB semantics it encodes are table-tested; the speaker fetches
// the objects, calls Compute and hands the Plan to internal/bgp. It has the
// shape of internal/l2plan, its layer 2 counterpart (Input, Compute, Plan),
// checks nodes and Services with the same internal/eligibility chain, and
// imports no GoBGP: its values are internal/bgpmodel's.
//
// # Semantics (MetalLB's)
//
//   - A BGPPeer runs on a node when its nodeSelectors select the node
//     (none selects every node). A peer with fields the GoBGP speaker
//     cannot honour (config.Peer.Unsupported) or whose passwordSecret
//     cannot be read is refused and reported, never run without them.
//   - An IP is advertised only when its pool is covered by a
//     BGPAdvertisement whose serviceSelectors select the Service (none
//     selects every Service) and whose nodeSelectors select this node.
//     With several advertisements for one pool, each Service gets exactly
//     those selecting it: their communities, localPref, aggregation and
//     peers.
//   - A Service with externalTrafficPolicy Cluster is advertised by every
//     such node while it has any ready endpoint anywhere; with Local only
//     by nodes holding a ready endpoint of it, so routers never send
//     traffic to a node that would have to drop it.
//   - Nodes labelled node.kubernetes.io/exclude-from-external-load-balancers
//     or with NetworkUnavailable advertise nothing. Memberlist liveness does
//     not matter here, unlike layer 2: a node whose speaker is down stops
//     announcing by itself when its sessions drop.
//   - Shared IPs (several Services on one address) are advertised when any
//     of their Services may be, each Service bringing the advertisements
//     that select it (as in MetalLB); the prefix is bgpmodel.Aggregate of
//     the IP with the advertisement's aggregation lengths, and
//     advertisements of one prefix merge inside internal/bgp: communities
//     are the union and the highest localPref wins. Two
//     BGPAdvertisements giving one prefix different localPref towards the
//     same iBGP peer are reported in Plan.Problems, naming both.
//   - Nothing announced covers addresses outside its pool: a prefix
//     reaching outside the pool's range is skipped and reported
//     (config.Build already refuses such aggregation lengths).
//   - localPref goes to iBGP peers only; eBGP peers get the same route
//     without LOCAL_PREF, as in MetalLB.
//
// Each Service also gets the names of the peers it is advertised to on
// this node (its ServiceBGPStatus), counting only peers whose session
// carries the prefix's family, which is what internal/bgp actually sends.
// Each IP gets the same per IP (Plan.IPs), or the reason it is not
// advertised here, for the speaker's ConfigurationState; the speaker adds
// the session states, which this package does not see.
package bgpplan
