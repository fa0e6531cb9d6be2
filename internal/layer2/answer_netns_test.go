package layer2

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestAnswersOnlyFromAnnouncer: three nodes run responders and each
// announces something, node2 the IPs under test. Every ARP request and
// Neighbor Solicitation from the client gets exactly one answer, with the
// owner's MAC, and the client's kernel resolves the IPs to node2.
func TestAnswersOnlyFromAnnouncer(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 3)
	n1, n2, n3 := l.nodes[0], l.nodes[1], l.nodes[2]
	other4, other6 := netip.MustParseAddr("198.18.0.101"), netip.MustParseAddr("2001:db8::101")
	n1.announce(other4, other6)
	n2.announce(ipV4, ipV6)
	n3.announce(netip.MustParseAddr("198.18.0.102"))
	for _, w := range []struct {
		n  *node
		ip netip.Addr
	}{{n1, other4}, {n1, other6}, {n2, ipV4}, {n2, ipV6}} {
		w.n.waitBurst(t, w.ip, w.n.a.opts.BurstCount)
	}
	mac1, mac2 := n1.mac(t, "eth0"), n2.mac(t, "eth0")

	if got := l.arping(3, lbV4); len(got) != 3 || !only(got, mac2) {
		t.Errorf("3 ARP requests for %s got replies from %v, want exactly 3 from node2 (%s)", lbV4, got, mac2)
	}
	if got := l.arping(2, other4.String()); len(got) != 2 || !only(got, mac1) {
		t.Errorf("2 ARP requests for %s got replies from %v, want exactly 2 from node1 (%s)", other4, got, mac1)
	}
	if got := l.ndisc6(lbV6); len(got) != 1 || !only(got, mac2) {
		t.Errorf("a Neighbor Solicitation for %s got answers from %v, want exactly 1 from node2 (%s)", lbV6, got, mac2)
	}
	if got := l.ndisc6(other6.String()); len(got) != 1 || !only(got, mac1) {
		t.Errorf("a Neighbor Solicitation for %s got answers from %v, want exactly 1 from node1 (%s)", other6, got, mac1)
	}
	if got := l.arping(2, "198.18.0.103"); len(got) != 0 {
		t.Errorf("an IP nobody announces was answered by %v", got)
	}
	if got := l.ndisc6("2001:db8::103"); len(got) != 0 {
		t.Errorf("an IPv6 address nobody announces was answered by %v", got)
	}

	// The kernel's own resolution (the pings fail: nobody holds the IPs).
	_ = l.client.Exec("ping", "-c1", "-W0.3", lbV4)
	_ = l.client.Exec("ping", "-6", "-c1", "-W0.3", lbV6)
	for _, ip := range []string{lbV4, lbV6} {
		if got := l.neigh(ip); got != mac2 {
			t.Errorf("client resolved %s to %q, want node2's %s", ip, got, mac2)
		}
	}

	if r := n2.counter(t, "metallb_layer2_responses_sent", ipV4); r < 3 {
		t.Errorf("node2 counted %v ARP responses, want >= 3", r)
	}
	for _, n := range []*node{n1, n3} {
		for _, ip := range []netip.Addr{ipV4, ipV6} {
			if r := n.counter(t, "metallb_layer2_requests_received", ip); r != 0 {
				t.Errorf("%s counted %v requests for %s, which it does not announce", n.name, r, ip)
			}
		}
	}
	if got := n2.a.Announced(); !slices.Equal(got[ipV4], []string{"eth0"}) || !slices.Equal(got[ipV6], []string{"eth0"}) {
		t.Errorf("node2 reports %v, want both IPs on eth0", got)
	}
}

// TestDroppedIPIsNotAnswered: once SetAnnounced leaves an IP out, neither
// ARP nor NDP for it is answered, and its metric series are gone.
func TestDroppedIPIsNotAnswered(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1)
	n := l.nodes[0]
	n.announce(ipV4, ipV6)
	n.waitBurst(t, ipV4, n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, n.a.opts.BurstCount)
	if got := l.arping(1, lbV4); len(got) != 1 {
		t.Fatalf("announced IP answered %d times, want 1", len(got))
	}
	if got := l.ndisc6(lbV6); len(got) != 1 {
		t.Fatalf("announced IPv6 address answered %d times, want 1", len(got))
	}
	const group = "ff02::1:ff00:100" // solicited-node group of 2001:db8::100
	if !strings.Contains(maddr(t, n), group) {
		t.Errorf("eth0 has not joined %s:\n%s", group, maddr(t, n))
	}

	n.a.SetAnnounced(nil)
	if strings.Contains(maddr(t, n), group) {
		t.Errorf("eth0 is still in %s after the IP was dropped", group)
	}
	if got := l.arping(2, lbV4); len(got) != 0 {
		t.Errorf("dropped IP still answered by %v", got)
	}
	if got := l.ndisc6(lbV6); len(got) != 0 {
		t.Errorf("dropped IPv6 address still answered by %v", got)
	}
	if got := n.a.Announced(); len(got) != 0 {
		t.Errorf("Announced() = %v after dropping everything", got)
	}
	if r := n.counter(t, "metallb_layer2_requests_received", ipV4); r != 0 {
		t.Errorf("requests counter for a dropped IP is %v, want the series deleted", r)
	}
}

// TestTakeoverBurstUpdatesClient: the client has node1's MAC cached for
// both IPs; node1 drops them and node2 takes them over. The client's
// entries change to node2's MAC from node2's burst alone: node2 receives
// no request from the client meanwhile.
func TestTakeoverBurstUpdatesClient(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	n1, n2 := l.nodes[0], l.nodes[1]
	mac1, mac2 := n1.mac(t, "eth0"), n2.mac(t, "eth0")
	settleOn(t, l, n1)
	for _, ip := range []string{lbV4, lbV6} {
		if got := l.neigh(ip); got != mac1 {
			t.Fatalf("client resolved %s to %q, want node1's %s", ip, got, mac1)
		}
	}

	n1.announce()
	n2.announce(ipV4, ipV6)
	l.waitNeighBoth(t, mac2, "node2's")
	for _, ip := range []netip.Addr{ipV4, ipV6} {
		if r := n2.counter(t, "metallb_layer2_requests_received", ip); r != 0 {
			t.Errorf("node2 received %v requests for %s: the client asked instead of being told", r, ip)
		}
		if g := n2.counter(t, "metallb_layer2_gratuitous_sent", ip); g == 0 {
			t.Errorf("node2 sent no gratuitous packet for %s", ip)
		}
	}
}

func maddr(t *testing.T, n *node) string {
	t.Helper()
	out, err := n.ns.Output("ip", "-6", "maddr", "show", "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReassertAfterFlap: another node announces node1's addresses for a
// moment and goes quiet (a membership flap); its burst left the client's
// cache on it. Reassert on node1 moves the cache back without the client
// having to ask.
func TestReassertAfterFlap(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 2)
	n1, n2 := l.nodes[0], l.nodes[1]
	mac1, mac2 := n1.mac(t, "eth0"), n2.mac(t, "eth0")
	settleOn(t, l, n1)

	// The flap: node2 takes over, its first rounds reach the client, and
	// it lets go again.
	n2.announce(ipV4, ipV6)
	l.waitNeighBoth(t, mac2, "node2's")
	n2.announce()
	before4 := n1.counter(t, "metallb_layer2_gratuitous_sent", ipV4)
	before6 := n1.counter(t, "metallb_layer2_gratuitous_sent", ipV6)

	n1.a.Reassert()
	l.waitNeighBoth(t, mac1, "node1's, back,")
	if g := n1.counter(t, "metallb_layer2_gratuitous_sent", ipV4); g <= before4 {
		t.Errorf("node1 sent no new gratuitous ARP for %s (%v before, %v after)", ipV4, before4, g)
	}
	if g := n1.counter(t, "metallb_layer2_gratuitous_sent", ipV6); g <= before6 {
		t.Errorf("node1 sent no new advertisement for %s (%v before, %v after)", ipV6, before6, g)
	}
}

// settleOn has n announce both test addresses, waits until its takeover
// bursts are over and has the client resolve them.
func settleOn(t *testing.T, l *lan, n *node) {
	t.Helper()
	n.announce(ipV4, ipV6)
	n.waitBurst(t, ipV4, n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, n.a.opts.BurstCount)
	_ = l.client.Exec("ping", "-c1", "-W0.3", lbV4)
	_ = l.client.Exec("ping", "-6", "-c1", "-W0.3", lbV6)
}

// waitNeighBoth waits until the client's entries for both test addresses
// name mac (whose: for the message).
func (l *lan) waitNeighBoth(t *testing.T, mac, whose string) {
	t.Helper()
	eventually(t, 5*time.Second, func() (bool, string) {
		v4, v6 := l.neigh(lbV4), l.neigh(lbV6)
		return v4 == mac && v6 == mac, fmt.Sprintf("client has %s at %s and %s at %s, want %s %s", lbV4, v4, lbV6, v6, whose, mac)
	})
}

// TestQuietStopsBurstButAnswers: node2 took the addresses over moments ago
// and its burst is still going when its speaker is told to hand over
// (Quiet). node1 takes over; node2 sends no further gratuitous packet, so
// the client's cache stays on node1 through node2's would-be burst, yet
// node2 still answers a client that asks.
func TestQuietStopsBurstButAnswers(t *testing.T) {
	t.Parallel()
	const rounds = 12
	l := newLAN(t, 2, func(o *Options) { o.BurstCount, o.BurstInterval = rounds, 100*time.Millisecond })
	n1, n2 := l.nodes[0], l.nodes[1]
	mac1, mac2 := n1.mac(t, "eth0"), n2.mac(t, "eth0")

	n2.announce(ipV4)
	n2.waitBurst(t, ipV4, 1)
	_ = l.client.Exec("ping", "-c1", "-W0.3", lbV4) // the client learns node2
	l.waitNeigh4(t, mac2)
	n2.a.Quiet()
	atQuiet := n2.counter(t, "metallb_layer2_gratuitous_sent", ipV4)

	n1.announce(ipV4)
	n1.waitBurst(t, ipV4, rounds) // as long as node2's burst would have run
	l.waitNeigh4(t, mac1)
	// One ARP round (two frames) may have been on its way when Quiet ran.
	if got := n2.counter(t, "metallb_layer2_gratuitous_sent", ipV4); got > atQuiet+2 {
		t.Errorf("node2 sent %v gratuitous ARPs after Quiet (%v before), want none", got-atQuiet, atQuiet)
	}
	if macs := l.arping(1, lbV4); !slices.Contains(macs, mac2) {
		t.Errorf("quiet node2 no longer answers ARP requests: replies from %v", macs)
	}
}

// waitNeigh4 waits until the client's entry for the IPv4 test address
// names mac.
func (l *lan) waitNeigh4(t *testing.T, mac string) {
	t.Helper()
	eventually(t, 5*time.Second, func() (bool, string) {
		got := l.neigh(lbV4)
		return got == mac, fmt.Sprintf("client has %s at %s, want %s", lbV4, got, mac)
	})
}
