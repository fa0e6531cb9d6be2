package layer2

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/barelb/barelb/internal/members"
	"github.com/barelb/barelb/testsupport/check"
)

// TestLinkStates: LinkStates names the node's LAN interfaces with MAC,
// state and subnets (no link-local ones); a link going down stays listed
// with Up false and its subnets (the kernel drops its IPv6 address), an
// address change is picked up by the rescan, and both are reported as
// Change.Links.
func TestLinkStates(t *testing.T) {
	t.Parallel()
	l := newLAN(t, 1, func(o *Options) { o.RescanInterval = 300 * time.Millisecond })
	n := l.nodes[0]
	mac := n.mac(t, "eth0")
	want := func(up bool, prefixes ...string) func() (bool, string) {
		return func() (bool, string) {
			got := n.a.LinkStates()
			ok := len(got) == 1 && got[0].Name == "eth0" && got[0].MAC.String() == mac && got[0].Up == up
			var ps []netip.Prefix
			for _, p := range prefixes {
				ps = append(ps, netip.MustParsePrefix(p))
			}
			ok = ok && slices.Equal(got[0].Prefixes, ps)
			return ok, fmt.Sprintf("LinkStates() = %+v, want eth0 %s up=%v %v", got, mac, up, prefixes)
		}
	}
	eventually(t, 5*time.Second, want(true, "198.18.0.0/24", "2001:db8::/64"))

	n.forgetChanges()
	check.Must(t, n.ns.AddAddr("eth0", "198.19.5.1/24"))
	eventually(t, 5*time.Second, want(true, "198.18.0.0/24", "198.19.5.0/24", "2001:db8::/64"))
	if !n.sawChange(func(c Change) bool { return c.Links }) {
		t.Errorf("an address change was not reported: %+v", n.changesSeen())
	}
	n.forgetChanges()
	check.Must(t, n.ns.LinkDown("eth0"))
	eventually(t, 5*time.Second, want(false, "198.18.0.0/24", "198.19.5.0/24", "2001:db8::/64"))
	if !n.sawChange(func(c Change) bool { return c.Links && slices.Contains(c.Down, "eth0") }) {
		t.Errorf("eth0 down was not reported with Links: %+v", n.changesSeen())
	}
}

// TestLinkCutReachesOtherSpeakers is the link-aware election's data path
// short of the speaker: node1's Announcer runs in its namespace, gossip
// runs on loopback (standing in for a management network that stays up)
// between node1's and node2's memberlist. Cutting node1's LAN link (its
// switch port) reaches node2's view of node1's metadata with the next
// gossip round, and members.Carriers then refuses node1 for the IP, long
// before memberlist would notice anything (it never does: gossip is fine).
func TestLinkCutReachesOtherSpeakers(t *testing.T) {
	t.Parallel()
	var (
		mu  sync.Mutex
		ml1 *members.Members
		a1  *Announcer
	)
	// publish is the speaker's part: gossip LinkStates on a change.
	publish := func() {
		mu.Lock()
		defer mu.Unlock()
		a := a1
		if ml1 == nil || a == nil {
			return
		}
		var meta members.NodeMeta
		for _, s := range a.LinkStates() {
			meta.Interfaces = append(meta.Interfaces, members.Interface(s))
		}
		if err := ml1.SetMeta(meta, time.Second); err != nil {
			t.Errorf("SetMeta: %v", err)
		}
	}
	l := newLAN(t, 1, func(o *Options) {
		o.OnChange = func(c Change) {
			if c.Links {
				publish()
			}
		}
	})
	n := l.nodes[0]
	m1, err := members.New(members.Options{NodeName: "node1", BindAddr: "127.0.0.1", Log: logr.Discard()})
	check.Must(t, err)
	defer m1.Leave(time.Second)
	ml2, err := members.New(members.Options{NodeName: "node2", BindAddr: "127.0.0.1", Log: logr.Discard()})
	check.Must(t, err)
	defer ml2.Leave(time.Second)
	_, err = ml2.Join([]string{m1.Addr()})
	check.Must(t, err)
	mu.Lock()
	ml1, a1 = m1, n.a
	mu.Unlock()
	publish()

	carriers := func() ([]string, string, bool) {
		md, ok := ml2.Meta()["node1"]
		if !ok {
			return nil, "", false
		}
		names, why := members.Carriers(md, ipV4, nil, DefaultIgnore)
		return names, why, true
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		names, why, ok := carriers()
		return ok && slices.Equal(names, []string{"eth0"}), fmt.Sprintf("node2 sees node1 carriers %v (%q, known %v), want eth0", names, why, ok)
	})

	start := time.Now()
	check.Must(t, l.sw.LinkDown(n.port))
	eventually(t, 5*time.Second, func() (bool, string) {
		names, why, _ := carriers()
		return len(names) == 0 && why != "", fmt.Sprintf("node2 still sees node1 carriers %v", names)
	})
	t.Logf("node1's LAN link cut seen by node2 after %v; reason: %s", time.Since(start).Round(time.Millisecond), func() string { _, w, _ := carriers(); return w }())
	if !ml2.Alive()["node1"] {
		t.Error("node1 is not alive for node2: the test should show gossip staying up")
	}

	check.Must(t, l.sw.LinkUp(n.port))
	eventually(t, 5*time.Second, func() (bool, string) {
		names, _, _ := carriers()
		return slices.Equal(names, []string{"eth0"}), fmt.Sprintf("after the link came back node2 sees node1 carriers %v", names)
	})
}
