package app

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/layer2"
	"github.com/barelb/barelb/internal/members"
)

// Layer 2 guardrails in the reconciler (fake client, fake announcer; the
// netns tests of internal/layer2 and internal/members prove the probes
// and the gossip): address conflict Events, link-aware election from the
// gossiped link states, and no announcement before the first join.

func TestLayer2AddressConflictEvents(t *testing.T) {
	svc, slice := lbService("web", "198.18.64.5", "n1")
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "198.18.64.0/24"), l2adv("all"), node("n1"), svc, slice)
	f.alive = map[string]bool{"n1": true}
	ip := netip.MustParseAddr("198.18.64.5")
	mac, _ := net.ParseMAC("02:00:00:aa:bb:cc")
	f.ann.conflicts = []layer2.Conflict{{IP: ip, Interface: "eth0", Kind: layer2.ForeignHost, MAC: mac, Since: time.Now()}}
	f.reconcile()
	f.reconcile()
	evs := f.events()
	if countWith(evs, "AddressConflict") != 1 || countWith(evs, "host 02:00:00:aa:bb:cc already uses it") != 1 ||
		countWith(evs, "198.18.64.5 on eth0") != 1 {
		t.Fatalf("events %q: want one AddressConflict naming the IP, interface and MAC", evs)
	}
	if countWith(evs, ReasonInterfaceUnavailable) != 0 || countWith(evs, ReasonNodeAssigned) != 0 {
		t.Fatalf("events %q: a conflicted IP is neither unavailable nor assigned", evs)
	}
	// The other host goes away: announced, and a later conflict is news.
	f.ann.conflicts = nil
	f.reconcile()
	if evs := f.events(); countWith(evs, ReasonNodeAssigned) != 1 || countWith(evs, "AddressConflict") != 0 {
		t.Fatalf("after the conflict ended: %q", evs)
	}
	f.ann.conflicts = []layer2.Conflict{{IP: ip, Interface: "eth0", Kind: layer2.ForeignHost, MAC: mac, Since: time.Now()}}
	f.reconcile()
	if evs := f.events(); countWith(evs, "AddressConflict") != 1 {
		t.Fatalf("a conflict that came back: %q", evs)
	}
	// Two speakers: SplitBrain, and the IP stays announced.
	f.ann.conflicts = []layer2.Conflict{{IP: ip, Interface: "eth0", Kind: layer2.SplitBrain, MAC: mac, Since: time.Now()}}
	f.reconcile()
	if evs := f.events(); countWith(evs, "SplitBrain") != 1 || countWith(evs, "partition") != 1 || countWith(evs, ReasonNodeAssigned) != 1 {
		t.Fatalf("split brain: %q", evs)
	}
}

func upMeta(up bool) members.NodeMeta {
	return members.NodeMeta{Interfaces: []members.Interface{{Name: "eth0", Up: up, Prefixes: []netip.Prefix{netip.MustParsePrefix("198.18.65.0/24")}}}}
}

// A node whose gossiped LAN link is down is not elected; a node without
// metadata stays eligible; with every link down the reporter says why.
func TestLayer2LinkAwareElection(t *testing.T) {
	svc, slice := lbService("web", "198.18.65.5", "n1")
	ip := netip.MustParseAddr("198.18.65.5")
	metas := map[string]members.NodeMeta{"n1": upMeta(false)} // n2 has none
	for _, me := range []string{"n1", "n2"} {
		f := newL2Fixture(t, me, pool("p", time.Now(), "198.18.65.0/24"), l2adv("all"), node("n1"), node("n2"), svc.DeepCopy(), slice.DeepCopy())
		f.alive = map[string]bool{"n1": true, "n2": true}
		f.r.metas, f.r.opts.LinkAware = func() map[string]members.NodeMeta { return metas }, true
		f.reconcile()
		if _, ok := f.ann.set[ip]; ok != (me == "n2") {
			t.Fatalf("%s announces %v; want only n2 (n1's link is down)", me, f.ann.set)
		}
	}
	metas["n2"] = upMeta(false)
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "198.18.65.0/24"), l2adv("all"), node("n1"), node("n2"), svc, slice)
	f.alive = map[string]bool{"n1": true, "n2": true}
	f.r.metas, f.r.opts.LinkAware = func() map[string]members.NodeMeta { return metas }, true
	f.reconcile()
	if evs := f.events(); len(f.ann.set) != 0 || countWith(evs, "NotAnnounced") != 1 || countWith(evs, "subnet of 198.18.65.5 are down (eth0)") != 1 {
		t.Fatalf("every link down: announced %v, events %q", f.ann.set, evs)
	}
	metas["n1"] = upMeta(true)
	f.reconcile()
	if _, ok := f.ann.set[ip]; !ok {
		t.Fatalf("n1's link is back up; announced %v", f.ann.set)
	}
}

// Nothing is announced before the first join has told the announcer the
// other speakers' MACs.
func TestLayer2WaitsForFirstJoin(t *testing.T) {
	svc, slice := lbService("web", "198.18.66.5", "n1")
	f := newL2Fixture(t, "n1", pool("p", time.Now(), "198.18.66.0/24"), l2adv("all"), node("n1"), svc, slice)
	f.alive = map[string]bool{"n1": true}
	joined := make(chan struct{})
	f.r.joined = joined
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := f.r.Reconcile(ctx); err == nil || f.ann.set != nil {
		t.Fatalf("before the first join: err %v, announced %v", err, f.ann.set)
	}
	close(joined)
	f.reconcile()
	if len(f.ann.set) != 1 {
		t.Fatalf("after the first join: announced %v", f.ann.set)
	}
}

func TestNodeMetaFromLinkStates(t *testing.T) {
	mac, _ := net.ParseMAC("02:00:00:00:00:01")
	p := netip.MustParsePrefix("198.18.67.0/24")
	m := nodeMeta([]layer2.LinkState{{Name: "eth0", MAC: mac, Up: true, Prefixes: []netip.Prefix{p}}, {Name: "eth1"}})
	want := members.NodeMeta{Interfaces: []members.Interface{{Name: "eth0", MAC: mac, Up: true, Prefixes: []netip.Prefix{p}}, {Name: "eth1"}}}
	if !m.Equal(want) {
		t.Fatalf("%+v", m)
	}
	// A node whose first metadata is empty (no scan yet) counts as unknown.
	names, _ := carriersFrom(map[string]members.NodeMeta{"n1": {}}, nil)("n1", netip.MustParseAddr("198.18.67.5"), nil)
	if len(names) == 0 {
		t.Fatal("empty metadata refused the node")
	}
}
