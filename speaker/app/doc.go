// Package app is barelb's speaker, one per node, in both modes:
//
//   - layer 2 (layer2.go): it learns from memberlist which speakers are
//     alive, computes with internal/l2plan (identically on every node)
//     which node announces each LoadBalancer IP, and answers ARP/NDP for
//     the IPs this node won (internal/layer2); it keeps one l2plan.Planner
//     across passes and hands it only what changed (planfeed.go), so an
//     event costs the snapshot, a compare of it and the change, not a
//     full plan;
//   - BGP (bgp.go): it asks internal/bgpplan which BGPPeer sessions this
//     node keeps and which prefixes it advertises to them, and runs them
//     in an in-process GoBGP (internal/bgp).
//
// Both reconcilers read their inputs in one snapshot (snapshot.go), send
// Events once per change (kube.Teller) and write their per-node status
// objects (ServiceL2Status, ServiceBGPStatus) off the reconcile path
// (status_sync.go), so announcements never wait for API writes. Run owns
// the manager, the runnables and the shutdown order: BGP withdraws first,
// then the node leaves memberlist and keeps answering for the handover
// period while the new owners announce, then its status objects go.
//
// What each speaker decided, and why, persists in one ConfigurationState
// per speaker (speaker_state.go): per IP announced or not and the reason,
// the memberlist view, and in BGP mode per IP whether it is advertised
// and to which peers or why not (PeerNotEstablished, NoPeer,
// NodeNotSelected, ServiceNotSelected, NoBGPAdvertisement, ...) with the
// node's sessions (bgp_status.go). Both reconcilers hand their part to the
// same object, written only when the merged content changes and off the
// reconcile path; session changes are noticed by the session watcher's
// poll and cost a write only when an IP's verdict or a session's state
// changes. One object per speaker keeps that cheap. Measured on a real
// API server at 1,005 BGP IPs (TestSpeakerBGPReasonsOnAPIServer): the
// object is 79 KB (78 bytes an IP; the lists are atomic, so managedFields
// add one entry, not one per IP), a pass with nothing new costs no write,
// one Service changing costs one write per speaker, a session going down
// one write on its node, and a restart no write (one GET). One object per
// IP and node would cost nodes x IPs objects and as many writes.
package app
