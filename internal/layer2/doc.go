// Package layer2 makes this node answer ARP (IPv4) and Neighbor
// Solicitations (IPv6) for the LoadBalancer IPs it currently owns, the way
// a host answers for its own addresses, so that a LAN client sends that
// traffic here. It knows nothing of Kubernetes: the speaker decides which
// IPs this node announces (internal/election) and hands the set over.
//
// Use:
//
//	a, err := layer2.New(log, prometheus.DefaultRegisterer, layer2.Options{OnChange: requeue})
//	go a.Run(ctx)
//	a.SetAnnounced(map[netip.Addr]layer2.Announcement{ip: {Interfaces: []string{"eth0"}}})
//	status := a.Announced() // ip -> interfaces carrying it, for ServiceL2Status
//
// Run keeps one ARP and one NDP responder on every usable interface: up
// with carrier, with an Ethernet address, not loopback or NOARP, and not a
// port of a bond, bridge or team (the master answers instead). It follows
// netlink link notifications and rescans periodically as a safety net.
// Interfaces that Options.Ignore skips (by default container and CNI
// interfaces, see DefaultIgnore) get responders only when an announcement
// names them.
//
// A responder answers a request only when its target is announced and the
// announcement allows the interface it arrived on; everything else is
// ignored. Sockets are AF_PACKET sockets with a kernel filter, so unicast
// re-checks of a cached entry are answered too, and no IP address is
// needed on the interface.
//
// Taking over an IP (it enters the set, or an interface starts carrying
// it) sends a burst of gratuitous ARP, in request and reply form, or
// unsolicited Neighbor Advertisements with the Override flag: several
// rounds spread over about two seconds, so neighbours update their cache
// without asking. Every announced IP is then re-announced every
// RefreshInterval so switches keep its MAC. Dropping an IP from the set
// stops its answers before SetAnnounced returns.
//
// When an interface stops being usable, OnChange reports it together with
// the announced IPs it leaves carried nowhere (Change.Lost). The speaker
// then re-plans and sends an AnnounceInterfaceUnavailable Warning on the
// Services concerned; it does not give such an IP up to another node by
// itself (the election does not yet know other nodes' links), so the IP
// stays unanswered until a link comes back or the node leaves memberlist.
// Interfaces tells in advance which interfaces would carry an IP.
//
// With Options.Conflicts.Enabled, an interface that is to carry an IP
// first probes for it (an RFC 5227 ARP probe from 0.0.0.0, or RFC 4862
// duplicate address detection: a solicitation from :: to the IP's
// solicited-node group) and answers and bursts only if nobody claimed the
// IP within Conflicts.Wait (default 200ms, the cost added to a takeover).
// Every Conflicts.Interval (default 10s) each IP is probed again, and any
// ARP packet or Neighbor Advertisement in which another host uses the IP
// is noticed at once. A host that is neither this node nor one of the
// speakers given to SetSpeakerMACs puts the IP in conflict on that
// interface: it is not answered there and no gratuitous packet goes out,
// so the traffic stays with the host that had the address; Conflicts and
// Conflicts.OnChange report it with the host's MAC. After
// Conflicts.Release (default 3) periodic probes in a row go unanswered
// the interface announces the IP again, with a takeover burst: a host
// that left is noticed within Release×Interval (30s by default). Another
// speaker answering two periodic probes in a row for an IP this node
// announces is reported as a split brain; both go on announcing. Cost:
// Probes (default 2) frames per IP and interface at takeover and per
// Interval, and one map lookup per ARP or ND packet received.
//
// LinkStates lists this node's LAN interfaces (name, MAC, up, subnets),
// which the speaker gossips so that every speaker can tell whether a node
// can carry an IP (see internal/members).
//
// Metrics keep MetalLB's names: metallb_layer2_requests_received,
// metallb_layer2_responses_sent and metallb_layer2_gratuitous_sent (label
// ip), plus the gauge barelb_layer2_announced_ips, the counter
// barelb_layer2_address_probes_sent (label ip) and the gauge
// barelb_layer2_address_conflicts (labels ip and kind: ForeignHost or
// SplitBrain; the number of interfaces with that conflict).
package layer2
