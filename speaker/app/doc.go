// Package app is barelb's speaker, one per node, in both modes:
//
//   - layer 2 (layer2.go): it learns from memberlist which speakers are
//     alive, computes with internal/l2plan (identically on every node)
//     which node announces each LoadBalancer IP, and answers ARP/NDP for
//     the IPs this node won (internal/layer2);
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
// and the memberlist view. One object per speaker, rewritten only when its
// content changes and off the reconcile path, keeps that cheap: at 1,000
// IPs the object is about 74 KB (74 bytes an IP), a steady cluster costs no
// write, and a change costs one write per speaker however many IPs it
// moves (a failover of 500 IPs: one write, not 500). One object per IP
// and node would cost nodes x IPs objects and as many writes.
package app
