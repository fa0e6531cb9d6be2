// Package bfdnet runs BFD sessions (package bfd) over UDP: single-hop
// (RFC 5881, port 3784) and multi-hop (RFC 5883, port 4784), IPv4 and
// IPv6, asynchronous mode.
//
// A Manager owns one receive socket per port and address family, opened
// when the first session needing it is added, and one send socket per
// session, bound to the session's local address and a source port from
// 49152-65535 that stays the same for the session's life (RFC 5881 §4).
// Packets leave with TTL / hop limit 255. Received single-hop packets must
// arrive with TTL 255 (RFC 5881 §5, the GTSM check: a packet from farther
// away was forwarded at least once); multi-hop packets with at least the
// profile's MinimumTTL (default 254). Packets are demultiplexed by Your
// Discriminator, or, while that is 0 (the peer does not know ours yet),
// by remote address, local address and interface.
//
// Each session runs in its own goroutine that sleeps until the session's
// next deadline (a transmission or the detection timeout) or a packet
// arrives. State changes are reported through Options.OnChange, and
// counters through Snapshot, which Collector turns into MetalLB's
// metallb_bfd_* metrics.
//
// Cost: per session one goroutine, one socket and about 8-10 KiB of Go
// heap and stack; per packet one recvmsg or sendto, a decode, a map
// lookup (a scan of the sessions only while Your Discriminator is 0) and
// a goroutine wake-up. With the 300 ms x 3 profile a session sends and
// receives about 3.8 packets a second each way; hack/bench/bfd measured
// 100 sessions at about 7-9% of one core (about 100 µs of CPU per packet,
// mostly system calls and scheduling) on a shared 2-core machine.
//
// Echo mode is refused (bfd.ErrEcho); authentication is not configured,
// so authenticated packets are discarded.
package bfdnet
