// Package bfd is barelb's Bidirectional Forwarding Detection core, written
// from RFC 5880: the control packet codec and the per-session state
// machine of asynchronous mode. It opens no sockets and starts no timers;
// internal/bfd/bfdnet carries packets over UDP (RFC 5881 single-hop,
// RFC 5883 multi-hop) and drives sessions with a real clock.
//
// Semantics:
//   - Decode applies the packet-only checks of RFC 5880 §6.8.6 (version 1,
//     length, detect multiplier, multipoint bit, discriminators) and parses
//     an authentication section; Session.Receive applies the rest,
//     including refusing authenticated packets, since barelb configures no
//     authentication.
//   - A Session is driven by three kinds of events, each given the current
//     time: Receive (a decoded packet), Tick (the clock reached
//     NextDeadline) and the configuration calls (SetProfile, AdminDown,
//     Enable). Every call returns what to do now: a packet to send and/or
//     a state change. No call blocks or reads a clock, so tests walk the
//     RFC's transitions deterministically.
//   - Timers follow §6.8.2-6.8.4 and §6.8.7: the transmit interval is
//     max(local desired TX, remote required RX), jittered to 75-100% (75-90%
//     when the local detect multiplier is 1); while not Up the desired TX is
//     at least one second; the detection time is the remote multiplier times
//     max(local required RX, remote desired TX). Timer changes while Up run a
//     Poll Sequence, and the old, safer values stay in force until the Final
//     arrives.
//   - Demand mode is never requested (bfd.DemandMode is 0); a remote in
//     Demand mode is honoured as §6.8.7 asks (no periodic packets while both
//     sides are Up). Echo is not implemented here.
//
// Cost: a Session is about 200 bytes; every call is O(1) with no
// allocation except Encode's output buffer (AppendEncode reuses one).
package bfd
