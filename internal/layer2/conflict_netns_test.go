package layer2

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mdlayher/packet"

	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
)

// The conflict tests add a rogue host to the LAN: a namespace whose eth0
// has the LoadBalancer addresses configured, so its kernel answers ARP,
// ARP probes, Neighbor Solicitations and DAD probes for them, as a
// printer or a VM with a forgotten static IP would.

// detect turns conflict detection on with a short periodic probe interval
// (release after 3 silent probes), so a test sees several rounds.
func detect(interval time.Duration) func(*Options) {
	return func(o *Options) {
		o.Conflicts.Enabled = true
		o.Conflicts.Interval = interval
		o.Conflicts.Release = 3
	}
}

// addRogue plugs a host with both test addresses into the LAN.
func (l *lan) addRogue(t testing.TB) (*netlab.Namespace, string) {
	t.Helper()
	r, err := l.lab.AddNamespace("rogue")
	if err != nil {
		t.Fatal(err)
	}
	l.plug(r, "eth0")
	mac, err := r.MAC("eth0")
	check.Must(t, err)
	return r, strings.ToLower(mac)
}

func rogueTakes(t testing.TB, r *netlab.Namespace) {
	t.Helper()
	check.Must(t, r.AddAddr("eth0", lbV4+"/24"))
	check.Must(t, r.AddAddr("eth0", lbV6+"/64"))
}

func rogueLeaves(t testing.TB, r *netlab.Namespace) {
	t.Helper()
	check.Must(t, r.Exec("ip", "addr", "del", lbV4+"/24", "dev", "eth0"))
	check.Must(t, r.Exec("ip", "addr", "del", lbV6+"/64", "dev", "eth0"))
}

// rogueAnnounces has the rogue tell the LAN it holds both addresses: a
// gratuitous ARP from arping, and an unsolicited Neighbor Advertisement
// with the Override flag (no tool sends one on demand, so it is written
// on a packet socket in the rogue's namespace).
func rogueAnnounces(t testing.TB, r *netlab.Namespace, mac string) {
	t.Helper()
	_, _ = r.Output("arping", "-U", "-c", "2", "-W", "0.2", "-i", "eth0", "-S", lbV4, lbV4)
	hw, err := net.ParseMAC(mac)
	check.Must(t, err)
	frame, err := advertisement(hw, ipV6, allNodes, allNodesMAC, false)
	check.Must(t, err)
	check.Must(t, r.Do(func() error {
		ifi, err := net.InterfaceByName("eth0")
		if err != nil {
			return err
		}
		c, err := packet.Listen(ifi, packet.Raw, etherTypeIPv6, nil)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.WriteTo(frame, &packet.Addr{HardwareAddr: allNodesMAC})
		return err
	}))
}

// waitConflicts waits until n reports exactly want: kind and MAC for
// both test addresses on eth0 (want "" for no conflict at all).
func (nd *node) waitConflicts(t testing.TB, kind ConflictKind, mac string) {
	t.Helper()
	eventually(t, 10*time.Second, func() (bool, string) {
		got := nd.a.Conflicts()
		if mac == "" {
			return len(got) == 0, fmt.Sprintf("%s reports conflicts %v, want none", nd.name, got)
		}
		ok := len(got) == 2
		for i, ip := range []netip.Addr{ipV4, ipV6} {
			ok = ok && got[i].IP == ip && got[i].Interface == "eth0" && got[i].Kind == kind && got[i].MAC.String() == mac
		}
		return ok, fmt.Sprintf("%s reports conflicts %v, want %s by %s for %s and %s on eth0", nd.name, got, kind, mac, lbV4, lbV6)
	})
}

// conflictGauge reads barelb_layer2_address_conflicts for ip and kind.
func (nd *node) conflictGauge(t testing.TB, ip netip.Addr, kind ConflictKind) float64 {
	t.Helper()
	families, err := nd.reg.Gather()
	check.Must(t, err)
	for _, f := range families {
		if f.GetName() != "barelb_layer2_address_conflicts" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelIs(m, "ip", ip.String()) && labelIs(m, "kind", string(kind)) {
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// waitProbes waits until n has sent at least count probes for both
// addresses: time passing, measured in probe rounds.
func (nd *node) waitProbes(t testing.TB, count float64) {
	t.Helper()
	eventually(t, 15*time.Second, func() (bool, string) {
		p4 := nd.counter(t, "barelb_layer2_address_probes_sent", ipV4)
		p6 := nd.counter(t, "barelb_layer2_address_probes_sent", ipV6)
		return p4 >= count && p6 >= count, fmt.Sprintf("%s sent %v and %v probes, want %v", nd.name, p4, p6, count)
	})
}

func (nd *node) reportedMAC(mac string) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	for _, cs := range nd.conflicts {
		for _, c := range cs {
			if c.MAC.String() == mac && c.Kind == ForeignHost {
				return true
			}
		}
	}
	return false
}

// TestConflictRogueBefore: the rogue holds both addresses and the client
// talks to it before the node is told to announce them. The node's probes
// find the rogue, so it never answers or bursts: the client keeps the
// rogue's MAC, and the conflict is reported with that MAC (Conflicts,
// OnChange, metric). When the rogue lets go of the addresses, the node
// announces them by itself and the client moves to it.
func TestConflictRogueBefore(t *testing.T) {
	t.Parallel()
	const interval = 300 * time.Millisecond
	l := newLAN(t, 1, detect(interval))
	n := l.nodes[0]
	mac := n.mac(t, "eth0")
	r, rmac := l.addRogue(t)
	rogueTakes(t, r)
	_ = l.client.Exec("ping", "-c1", "-W1", lbV4)
	_ = l.client.Exec("ping", "-6", "-c1", "-W1", lbV6)
	l.waitNeighBoth(t, rmac, "the rogue's")

	start := time.Now()
	n.announce(ipV4, ipV6)
	n.waitConflicts(t, ForeignHost, rmac)
	t.Logf("conflict found %v after SetAnnounced (Wait %v, %d probes)", time.Since(start).Round(time.Millisecond), n.a.opts.Conflicts.Wait, n.a.opts.Conflicts.Probes)
	if !n.reportedMAC(rmac) {
		t.Errorf("Conflicts.OnChange never named the rogue's MAC %s", rmac)
	}
	for _, ip := range []netip.Addr{ipV4, ipV6} {
		if g := n.conflictGauge(t, ip, ForeignHost); g != 1 {
			t.Errorf("address_conflicts{ip=%s,kind=ForeignHost} = %v, want 1", ip, g)
		}
	}
	if got := n.a.Announced(); len(got[ipV4]) != 0 || len(got[ipV6]) != 0 {
		t.Errorf("Announced() = %v, want both IPs on no interface", got)
	}

	// Several periodic rounds later, still hands off.
	n.waitProbes(t, float64(n.a.opts.Conflicts.Probes*4))
	if got := l.arping(2, lbV4); len(got) != 2 || !only(got, rmac) {
		t.Errorf("ARP for %s answered by %v, want twice by the rogue only (%s)", lbV4, got, rmac)
	}
	// The rogue's answers to the node's DAD probes are multicast, so
	// ndisc6 may count some of those too.
	if got := l.ndisc6(lbV6); !only(got, rmac) {
		t.Errorf("NDP for %s answered by %v, want by the rogue only (%s)", lbV6, got, rmac)
	}
	for _, ip := range []netip.Addr{ipV4, ipV6} {
		if g := n.counter(t, "metallb_layer2_gratuitous_sent", ip); g != 0 {
			t.Errorf("node sent %v gratuitous packets for %s held by another host", g, ip)
		}
		if r := n.counter(t, "metallb_layer2_responses_sent", ip); r != 0 {
			t.Errorf("node answered %v requests for %s held by another host", r, ip)
		}
	}
	for _, ip := range []string{lbV4, lbV6} {
		if got := l.neigh(ip); got != rmac {
			t.Errorf("client has %s at %q, want the rogue's %s kept", ip, got, rmac)
		}
	}

	gone := time.Now()
	rogueLeaves(t, r)
	l.waitNeighBoth(t, mac, "the node's, after the rogue left,")
	t.Logf("announced again %v after the rogue left (Interval %v, Release %d)", time.Since(gone).Round(time.Millisecond), interval, n.a.opts.Conflicts.Release)
	n.waitConflicts(t, "", "")
	for _, ip := range []netip.Addr{ipV4, ipV6} {
		if g := n.conflictGauge(t, ip, ForeignHost); g != 0 {
			t.Errorf("address_conflicts{ip=%s} = %v after the rogue left, want 0", ip, g)
		}
	}
	if got := l.arping(1, lbV4); len(got) != 1 || !only(got, mac) {
		t.Errorf("after the rogue left, ARP answered by %v, want once by the node %s", got, mac)
	}
}

// TestConflictRogueAfter: the node announces both addresses, then the
// rogue takes them. It is found from the rogue's own gratuitous ARP and
// unsolicited advertisement (with periodic probing too slow to matter),
// or, when the rogue announces nothing, by the next periodic probe. The
// node goes silent at once, sending nothing that would pull the client
// back; when the rogue lets go, the node announces again by itself.
func TestConflictRogueAfter(t *testing.T) {
	t.Parallel()
	t.Run("unsolicited", func(t *testing.T) {
		t.Parallel()
		l := newLAN(t, 1, detect(time.Hour))
		n := l.nodes[0]
		r, rmac := l.addRogue(t)
		settleOn(t, l, n)
		l.waitNeighBoth(t, n.mac(t, "eth0"), "the node's")

		rogueTakes(t, r)
		start := time.Now()
		rogueAnnounces(t, r, rmac)
		n.waitConflicts(t, ForeignHost, rmac)
		t.Logf("conflict found %v after the rogue's announcements", time.Since(start).Round(time.Millisecond))
		g4 := n.counter(t, "metallb_layer2_gratuitous_sent", ipV4)
		g6 := n.counter(t, "metallb_layer2_gratuitous_sent", ipV6)
		l.waitNeighBoth(t, rmac, "the rogue's")
		if got := l.arping(3, lbV4); len(got) != 3 || !only(got, rmac) {
			t.Errorf("ARP for %s answered by %v, want by the rogue only (%s)", lbV4, got, rmac)
		}
		if got := l.ndisc6(lbV6); !only(got, rmac) {
			t.Errorf("NDP for %s answered by %v, want by the rogue only (%s)", lbV6, got, rmac)
		}
		if a, b := n.counter(t, "metallb_layer2_gratuitous_sent", ipV4), n.counter(t, "metallb_layer2_gratuitous_sent", ipV6); a != g4 || b != g6 {
			t.Errorf("node sent gratuitous packets after the conflict: %v -> %v (IPv4), %v -> %v (IPv6)", g4, a, g6, b)
		}
		for _, ip := range []string{lbV4, lbV6} {
			if got := l.neigh(ip); got != rmac {
				t.Errorf("client has %s at %q, want the rogue's %s", ip, got, rmac)
			}
		}
	})
	t.Run("probe", func(t *testing.T) {
		t.Parallel()
		l := newLAN(t, 1, detect(300*time.Millisecond))
		n := l.nodes[0]
		mac := n.mac(t, "eth0")
		r, rmac := l.addRogue(t)
		settleOn(t, l, n)
		l.waitNeighBoth(t, mac, "the node's")

		start := time.Now()
		rogueTakes(t, r)
		n.waitConflicts(t, ForeignHost, rmac)
		t.Logf("conflict found by periodic probing %v after the rogue took the addresses (Interval %v)", time.Since(start).Round(time.Millisecond), n.a.opts.Conflicts.Interval)
		// The client asks afresh: only the rogue answers now.
		check.Must(t, l.client.Exec("ip", "neigh", "flush", "dev", "eth0"))
		_ = l.client.Exec("ping", "-c1", "-W1", lbV4)
		_ = l.client.Exec("ping", "-6", "-c1", "-W1", lbV6)
		l.waitNeighBoth(t, rmac, "the rogue's")

		gone := time.Now()
		rogueLeaves(t, r)
		l.waitNeighBoth(t, mac, "the node's, after the rogue left,")
		t.Logf("announced again %v after the rogue left", time.Since(gone).Round(time.Millisecond))
		n.waitConflicts(t, "", "")
	})
}

// TestConflictSpeakers: speakers that know each other's MACs never take
// one another for a foreign host. A handover (the old owner quiet but
// still answering, as a leaving speaker is) goes through: the new owner's
// probe is answered by the old one and it takes over anyway; while both
// answer it may report a split brain (they do both answer), never a
// foreign host, and nothing once the old owner lets go. Two speakers
// announcing the same addresses at once report a split brain naming each
// other and keep announcing. Without the MAC set the other speaker is a
// foreign host: the set is what makes the difference.
func TestConflictSpeakers(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 3, detect(300*time.Millisecond))
	n1, n2, n3 := l.nodes[0], l.nodes[1], l.nodes[2]
	mac1, mac2, mac3 := n1.mac(t, "eth0"), n2.mac(t, "eth0"), n3.mac(t, "eth0")
	var macs []net.HardwareAddr
	for _, m := range []string{mac1, mac2, mac3} {
		hw, err := net.ParseMAC(m)
		check.Must(t, err)
		macs = append(macs, hw)
	}
	for _, n := range l.nodes {
		n.a.SetSpeakerMACs(macs)
	}
	settleOn(t, l, n1)
	l.waitNeighBoth(t, mac1, "node1's")

	// Handover: node1 hands over but keeps answering.
	n1.a.Quiet()
	n2.announce(ipV4, ipV6)
	l.waitNeighBoth(t, mac2, "node2's")
	n2.waitProbes(t, float64(n2.a.opts.Conflicts.Probes*3)) // periodic rounds with node1 still answering
	for _, n := range []*node{n1, n2} {
		for _, c := range n.a.Conflicts() {
			if c.Kind != SplitBrain || c.MAC.String() != map[*node]string{n1: mac2, n2: mac1}[n] {
				t.Errorf("handover: %s reports %v, want at most a split brain with the other", n.name, c)
			}
		}
	}
	n1.announce()
	n2.waitConflicts(t, "", "")
	if got := n2.a.Announced(); !slices.Equal(got[ipV4], []string{"eth0"}) || !slices.Equal(got[ipV6], []string{"eth0"}) {
		t.Errorf("after the handover node2 announces %v, want both IPs on eth0", got)
	}

	// Split brain: node3 announces the same addresses as node2.
	n3.announce(ipV4, ipV6)
	n3.waitBurst(t, ipV4, 1)
	n2.waitConflicts(t, SplitBrain, mac3)
	n3.waitConflicts(t, SplitBrain, mac2)
	if g := n2.conflictGauge(t, ipV4, SplitBrain); g != 1 {
		t.Errorf("node2: address_conflicts{kind=SplitBrain} = %v, want 1", g)
	}
	for _, n := range []*node{n2, n3} {
		if got := n.a.Announced(); !slices.Equal(got[ipV4], []string{"eth0"}) || !slices.Equal(got[ipV6], []string{"eth0"}) {
			t.Errorf("split brain: %s stopped announcing: %v", n.name, got)
		}
	}
	n3.announce()
	n2.waitConflicts(t, "", "") // node3 no longer answers node2's probes

	// Control: node3 without the speaker MACs takes node2 for a foreign
	// host and keeps off its addresses.
	n3.a.SetSpeakerMACs(nil)
	n3.announce(ipV4, ipV6)
	n3.waitConflicts(t, ForeignHost, mac2)
	if got := n2.a.Conflicts(); len(got) != 0 {
		t.Errorf("node2 reports %v while node3 keeps off, want none", got)
	}
	// The MACs arrive late (gossip after the first plan): the conflict
	// ends at once and node3 announces, with a burst.
	before := n3.counter(t, "metallb_layer2_gratuitous_sent", ipV4)
	n3.a.SetSpeakerMACs(macs)
	for _, c := range n3.a.Conflicts() {
		if c.Kind == ForeignHost {
			t.Errorf("node3 still reports %v after learning the speakers' MACs", c)
		}
	}
	if got := n3.a.Announced(); !slices.Equal(got[ipV4], []string{"eth0"}) || !slices.Equal(got[ipV6], []string{"eth0"}) {
		t.Errorf("node3 announces %v after learning the speakers' MACs, want both IPs on eth0", got)
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		g := n3.counter(t, "metallb_layer2_gratuitous_sent", ipV4)
		return g > before, fmt.Sprintf("node3 sent no burst after learning the MACs (%v gratuitous ARPs)", g)
	})
}
