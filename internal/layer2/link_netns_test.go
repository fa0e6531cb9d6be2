package layer2

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/check"
)

// TestInterfaceDownAndUp: taking the carrying interface down (from the
// node, then by unplugging the switch port) reports the IPs as lost and
// silences them; bringing it back restarts the responders, which send a
// new burst and answer again. Netlink notifications drive this, well
// before the 10 s rescan.
func TestInterfaceDownAndUp(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1)
	n := l.nodes[0]
	mac := n.mac(t, "eth0")
	n.announce(ipV4, ipV6)
	n.waitBurst(t, ipV4, n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, n.a.opts.BurstCount)

	for i, flap := range []struct {
		what       string
		down, up   func() error
		downReason string
	}{
		{"eth0 set down on the node", func() error { return n.ns.LinkDown("eth0") }, func() error { return n.ns.LinkUp("eth0") }, "down"},
		{"switch port unplugged", func() error { return l.sw.LinkDown(n.port) }, func() error { return l.sw.LinkUp(n.port) }, "no carrier"},
	} {
		n.forgetChanges()
		check.Must(t, flap.down())
		eventually(t, 5*time.Second, func() (bool, string) {
			lost := n.sawChange(func(c Change) bool {
				return slices.Contains(c.Down, "eth0") && slices.Equal(c.Lost, []netip.Addr{ipV4, ipV6})
			})
			return lost, fmt.Sprintf("%s: no change reporting eth0 down and both IPs lost: %+v", flap.what, n.changesSeen())
		})
		if got := n.a.Announced(); len(got[ipV4]) != 0 || len(got[ipV6]) != 0 {
			t.Errorf("%s: Announced() = %v, want both IPs on no interface", flap.what, got)
		}
		if got := n.a.Interfaces(ipV4, Announcement{}); len(got) != 0 {
			t.Errorf("%s: Interfaces() = %v, want none", flap.what, got)
		}
		if got := l.arping(1, lbV4); len(got) != 0 {
			t.Errorf("%s: answered by %v", flap.what, got)
		}

		check.Must(t, flap.up())
		eventually(t, 5*time.Second, func() (bool, string) {
			got := n.a.Announced()
			return slices.Equal(got[ipV4], []string{"eth0"}) && slices.Equal(got[ipV6], []string{"eth0"}),
				fmt.Sprintf("%s, back up: Announced() = %v", flap.what, got)
		})
		if !n.sawChange(func(c Change) bool { return slices.Contains(c.Up, "eth0") }) {
			t.Errorf("%s, back up: no change reported eth0 up: %+v", flap.what, n.changesSeen())
		}
		// A fresh burst on the returning link, then normal answers.
		n.waitBurst(t, ipV4, n.a.opts.BurstCount*(i+2))
		n.waitBurst(t, ipV6, n.a.opts.BurstCount*(i+2))
		if got := l.arping(1, lbV4); len(got) != 1 || !only(got, mac) {
			t.Errorf("%s, back up: ARP answered by %v, want once by %s", flap.what, got, mac)
		}
		if got := l.ndisc6(lbV6); len(got) != 1 || !only(got, mac) {
			t.Errorf("%s, back up: NDP answered by %v, want once by %s", flap.what, got, mac)
		}
	}
}

// TestAnnouncementInterfaces: a node with two interfaces on the LAN; the
// second appears while the Announcer runs. An IP limited to eth1 is
// answered only there (one reply, eth1's MAC); unlimited, it is answered
// on both, which also shows the reply counting catches a duplicate; an IP
// limited to a missing interface is carried nowhere.
func TestAnnouncementInterfaces(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1)
	n := l.nodes[0]
	l.plug(n.ns, "eth1")
	eventually(t, 5*time.Second, func() (bool, string) {
		got := n.a.Interfaces(ipV4, Announcement{})
		return slices.Equal(got, []string{"eth0", "eth1"}), fmt.Sprintf("usable interfaces %v, want eth0 and eth1", got)
	})
	mac0, mac1 := n.mac(t, "eth0"), n.mac(t, "eth1")

	onEth1 := Announcement{Interfaces: []string{"eth1"}}
	n.a.SetAnnounced(map[netip.Addr]Announcement{ipV4: onEth1, ipV6: onEth1})
	n.waitBurst(t, ipV4, n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, n.a.opts.BurstCount)
	if got := l.arping(2, lbV4); len(got) != 2 || !only(got, mac1) {
		t.Errorf("limited to eth1: ARP replies %v, want 2 from eth1 (%s)", got, mac1)
	}
	if got := l.ndisc6(lbV6); len(got) != 1 || !only(got, mac1) {
		t.Errorf("limited to eth1: NDP answers %v, want 1 from eth1 (%s)", got, mac1)
	}
	if got := n.a.Announced(); !slices.Equal(got[ipV4], []string{"eth1"}) {
		t.Errorf("Announced() = %v, want %s on eth1", got, ipV4)
	}

	n.announce(ipV4, ipV6) // eth0 joins: it bursts, eth1 continues
	n.waitBurst(t, ipV4, 2*n.a.opts.BurstCount)
	n.waitBurst(t, ipV6, 2*n.a.opts.BurstCount)
	got := l.arping(2, lbV4)
	slices.Sort(got)
	if want := sorted(mac0, mac0, mac1, mac1); !slices.Equal(got, want) {
		t.Errorf("unlimited: ARP replies %v, want %v", got, want)
	}
	got = l.ndisc6(lbV6)
	slices.Sort(got)
	if want := sorted(mac0, mac1); !slices.Equal(got, want) {
		t.Errorf("unlimited: NDP answers %v, want %v", got, want)
	}

	missing := Announcement{Interfaces: []string{"eth9"}}
	n.a.SetAnnounced(map[netip.Addr]Announcement{ipV4: missing})
	if got := n.a.Announced(); len(got) != 1 || len(got[ipV4]) != 0 {
		t.Errorf("limited to a missing interface: Announced() = %v, want %s on none", got, ipV4)
	}
	if got := n.a.Interfaces(ipV4, missing); len(got) != 0 {
		t.Errorf("Interfaces() for a missing interface = %v", got)
	}
	if got := l.arping(1, lbV4); len(got) != 0 {
		t.Errorf("limited to a missing interface: answered by %v", got)
	}
}

// TestUsableInterfaces: what counts as usable, on real links (this
// kernel has veth, bridge and macvlan, but no dummy or bond, so bonds are
// covered by TestUnusableReason): a veth pair, a NOARP veth, a bridge and
// its port, a pod-style veth that is skipped unless named, and deletion.
func TestUsableInterfaces(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1)
	n := l.nodes[0]
	for _, cmd := range [][]string{
		{"ip", "link", "add", "lan0", "type", "veth", "peer", "name", "lan1"},
		{"ip", "link", "add", "na0", "type", "veth", "peer", "name", "brport0"},
		{"ip", "link", "set", "na0", "arp", "off"},
		{"ip", "link", "add", "br9", "type", "bridge"},
		{"ip", "link", "set", "brport0", "master", "br9"},
		{"ip", "link", "add", "vethpod0", "type", "veth", "peer", "name", "vethpod0p"},
	} {
		check.Must(t, n.ns.Exec(cmd...))
	}
	for _, dev := range []string{"lan0", "lan1", "na0", "brport0", "br9", "vethpod0", "vethpod0p"} {
		check.Must(t, n.ns.LinkUp(dev))
	}
	want := []string{"br9", "eth0", "lan0", "lan1"}
	eventually(t, 5*time.Second, func() (bool, string) {
		got := n.a.Interfaces(ipV4, Announcement{})
		return slices.Equal(got, want), fmt.Sprintf("usable interfaces %v, want %v", got, want)
	})
	pod := Announcement{Interfaces: []string{"vethpod0"}}
	eventually(t, 5*time.Second, func() (bool, string) {
		got := n.a.Interfaces(ipV4, pod)
		return slices.Equal(got, []string{"vethpod0"}), fmt.Sprintf("a skipped interface named explicitly: Interfaces() = %v", got)
	})
	n.a.SetAnnounced(map[netip.Addr]Announcement{ipV4: pod})
	eventually(t, 5*time.Second, func() (bool, string) {
		got := n.a.Announced()
		return slices.Equal(got[ipV4], []string{"vethpod0"}), fmt.Sprintf("Announced() = %v, want %s on vethpod0", got, ipV4)
	})

	check.Must(t, n.ns.Exec("ip", "link", "del", "lan0"))
	eventually(t, 5*time.Second, func() (bool, string) {
		return n.sawChange(func(c Change) bool {
			return slices.Contains(c.Down, "lan0") && slices.Contains(c.Down, "lan1")
		}), "deleting the lan0/lan1 pair was not reported"
	})
	if got := n.a.Interfaces(ipV4, Announcement{}); !slices.Equal(got, []string{"br9", "eth0"}) {
		t.Errorf("after deleting lan0/lan1, usable interfaces %v", got)
	}
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}
