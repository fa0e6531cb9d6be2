// Package damping decides when a speaker's own node is "settling": it
// has just come back and should not take layer 2 addresses back yet
// (damped fail-back). The speaker gossips the verdict in its memberlist
// metadata and every speaker's planner (internal/l2plan) elects a
// settling node only when no settled node is eligible, so a node that
// flaps moves each of its addresses away once and back once when it is
// stable again, instead of away and back on every flap.
//
// A node settles for Delay after the last of these:
//   - its speaker started (a restart, a reboot, an upgrade);
//   - one of its interfaces changed state (link down or up);
//   - it stopped being alone: while a speaker sees no other member
//     alive it cannot tell a cluster of one from being cut off, so it
//     holds itself settling until others are back, then for Delay.
//
// A speaker that replaces its predecessor in a planned restart (Resume:
// the others held the node as a member meanwhile) does not settle: its
// node never went away.
//
// A node decides for itself and tells the others, rather than each
// speaker timing the others' returns, because speakers would then
// disagree on the returning node (it sees the others come back, not
// itself) and announce the same address from two nodes.
//
// Known gap: a node cut off from some members but not all (a partial
// partition, its own links up) is not settling when it comes back.
//
// Cost: constant per event; the speaker re-checks once at Next.
package damping
