package layer2

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/check"
)

// TestPeriodicRefresh: after its burst, an announced IP is re-announced
// every RefreshInterval. The client's entries are overwritten with a
// wrong MAC once the burst is over; the next refresh puts the node's MAC
// back without the client asking.
func TestPeriodicRefresh(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1, func(o *Options) {
		o.BurstCount = 1
		o.RefreshInterval = 700 * time.Millisecond
	})
	n := l.nodes[0]
	mac := n.mac(t, "eth0")
	n.announce(ipV4, ipV6)
	n.waitBurst(t, ipV4, 1)
	n.waitBurst(t, ipV6, 1)
	const bogus = "02:00:5e:00:53:99"
	for _, ip := range []string{lbV4, lbV6} {
		check.Must(t, l.client.Exec("ip", "neigh", "replace", ip, "lladdr", bogus, "dev", "eth0", "nud", "stale"))
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		v4, v6 := l.neigh(lbV4), l.neigh(lbV6)
		return v4 == mac && v6 == mac, fmt.Sprintf("client has %s at %s and %s at %s, want the refresh to restore %s", lbV4, v4, lbV6, v6, mac)
	})
	n.waitBurst(t, ipV4, 3) // and it keeps going
	for _, ip := range []netip.Addr{ipV4, ipV6} {
		if r := n.counter(t, "metallb_layer2_requests_received", ip); r != 0 {
			t.Errorf("the client asked for %s %v times; the refresh alone should fix its entry", ip, r)
		}
	}
}

// TestNeighborProbeAnswered: a client re-checks a cached entry with a
// unicast ARP request or Neighbor Solicitation sent to the cached MAC
// (NUD PROBE). The kernel would never hand a unicast solicitation for a
// foreign address to an ICMPv6 socket; the AF_PACKET responders answer it,
// so the entry becomes REACHABLE instead of FAILED.
func TestNeighborProbeAnswered(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1)
	n := l.nodes[0]
	mac := n.mac(t, "eth0")
	n.announce(ipV4, ipV6)
	n.waitBurst(t, ipV4, n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, n.a.opts.BurstCount)
	for _, family := range []string{"ipv4", "ipv6"} {
		check.Must(t, l.client.Exec("sysctl", "-qw", "net."+family+".neigh.eth0.delay_first_probe_time=1"))
		// No multicast fallback: only the unicast probes can confirm.
		check.Must(t, l.client.Exec("sysctl", "-qw", "net."+family+".neigh.eth0.mcast_resolicit=0"))
	}
	for _, ip := range []string{lbV4, lbV6} {
		check.Must(t, l.client.Exec("ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "stale"))
	}
	// One packet each moves the entries to DELAY, then PROBE.
	_ = l.client.Exec("ping", "-c1", "-W0.2", lbV4)
	_ = l.client.Exec("ping", "-6", "-c1", "-W0.2", lbV6)
	eventually(t, 6*time.Second, func() (bool, string) {
		m4, s4 := l.neighEntry(lbV4)
		m6, s6 := l.neighEntry(lbV6)
		return m4 == mac && s4 == "REACHABLE" && m6 == mac && s6 == "REACHABLE",
			fmt.Sprintf("client entries: %s %s %s, %s %s %s; want both REACHABLE at %s", lbV4, m4, s4, lbV6, m6, s6, mac)
	})
	if r := n.counter(t, "metallb_layer2_requests_received", ipV4); r == 0 {
		t.Error("no ARP probe was received")
	}
	if r := n.counter(t, "metallb_layer2_requests_received", ipV6); r == 0 {
		t.Error("no neighbor solicitation probe was received")
	}
}
