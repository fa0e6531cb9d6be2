package bfdnet

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/testsupport/bfdlab"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// startFRR starts zebra, bgpd (idle) and bfdd with conf in ns.
func startFRR(t *testing.T, ns *netlab.Namespace, conf string) (*frrlab.Router, *bfdlab.BFDD) {
	t.Helper()
	r := frrlab.StartForTest(t, ns, frrlab.Config{})
	b, err := bfdlab.StartBFDD(r, conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("bfdd log:\n%s", b.Log())
		}
		b.Close()
	})
	return r, b
}

// waitFRR polls bfdd until its peer addr has status want.
func waitFRR(t *testing.T, b *bfdlab.BFDD, addr, want string, timeout time.Duration) (bfdlab.Peer, time.Time) {
	t.Helper()
	var p bfdlab.Peer
	err := bfdlab.WaitFor(timeout, func() error {
		var err error
		if p, err = b.PeerByAddr(addr); err != nil {
			return err
		}
		if p.Status != want {
			return fmt.Errorf("FRR peer %s is %q, want %q: %+v", addr, p.Status, want, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p, time.Now()
}

// TestFRRSingleHop: a session with FRR's bfdd over a veth comes Up on
// both sides with the 300 ms x 3 profile; a timer change on FRR's side
// and one on ours run poll sequences without a flap; dropping the
// packets in FRR's namespace takes both sides Down by their timers.
func TestFRRSingleHop(t *testing.T) {
	lab := netlab.NewForTest(t, "bfdf")
	nodeNS, rtrNS, err := bfdlab.Pair(lab, "node", "rtr", []string{"198.18.1.2/24"}, []string{"198.18.1.1/24"})
	if err != nil {
		t.Fatal(err)
	}
	r, b := startFRR(t, rtrNS, frrSingleHopConf)
	n := newNode(t, nodeNS)
	c := Config{Local: netip.MustParseAddr("198.18.1.2"), Remote: netip.MustParseAddr("198.18.1.1"), Interface: "eth0", Profile: fast}
	n.add(t, c)
	n.waitEvent(t, bfd.Up, 15*time.Second)
	fp, _ := waitFRR(t, b, "198.18.1.2", "up", 10*time.Second)
	if fp.RemoteID == 0 || fp.RemoteDetectMultiplier != 3 || fp.RemoteTransmitInterval != 300 || fp.RemoteReceiveInterval != 300 {
		t.Errorf("FRR's view of our session: %+v", fp)
	}
	st := n.waitState(t, c.Key(), bfd.Up, time.Second)
	if st.Status.RemoteDiscr != fp.ID || st.Status.LocalDiscr != fp.RemoteID {
		t.Errorf("discriminators: ours %+v, FRR %+v", st.Status, fp)
	}

	// FRR slows its transmission: it polls, we answer Final, and our
	// detection time follows its 600 ms.
	if err := r.Configure("bfd", "peer 198.18.1.2 interface eth0", "transmit-interval 600"); err != nil {
		t.Fatal(err)
	}
	if err := bfdlab.WaitFor(5*time.Second, func() error {
		st, _ = n.m.Session(c.Key())
		if st.Status.DetectionTime != 1800*time.Millisecond {
			return fmt.Errorf("detection time %v", st.Status.DetectionTime)
		}
		return nil
	}); err != nil {
		t.Fatalf("%v: %+v", err, st)
	}
	// Our side slows down too: we poll, FRR answers Final.
	c.Profile.TransmitInterval, c.Profile.ReceiveInterval = 500*time.Millisecond, 400*time.Millisecond
	n.add(t, c)
	if err := bfdlab.WaitFor(5*time.Second, func() error {
		p, err := b.PeerByAddr("198.18.1.2")
		if err != nil {
			return err
		}
		st, _ = n.m.Session(c.Key())
		if p.RemoteTransmitInterval != 500 || p.RemoteReceiveInterval != 400 || st.Status.Polling {
			return fmt.Errorf("FRR sees %+v; ours %+v", p, st.Status)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case e := <-n.events:
		t.Fatalf("state change during the timer changes: %+v", e)
	default:
	}
	if p, _ := b.PeerByAddr("198.18.1.2"); p.Status != "up" {
		t.Fatalf("FRR's session left Up during the timer changes: %+v", p)
	}
	// Back to 300 ms on both sides before the cut.
	if err := r.Configure("bfd", "peer 198.18.1.2 interface eth0", "transmit-interval 300"); err != nil {
		t.Fatal(err)
	}
	c.Profile = fast
	n.add(t, c)
	if err := bfdlab.WaitFor(5*time.Second, func() error {
		st, _ = n.m.Session(c.Key())
		if st.Status.DetectionTime != 900*time.Millisecond || st.Status.Polling {
			return fmt.Errorf("timers %+v", st.Status)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	e, fp := cutAndWait(t, n, b, rtrNS, "198.18.1.2")
	if e.Diag != bfd.DiagControlDetectionExpired {
		t.Errorf("our down event %+v", e)
	}
	if fp.Diagnostic != "control detection time expired" {
		t.Errorf("FRR's diagnostic: %q", fp.Diagnostic)
	}
	if err := bfdlab.Heal(rtrNS); err != nil {
		t.Fatal(err)
	}
	n.waitEvent(t, bfd.Up, 15*time.Second)
	waitFRR(t, b, "198.18.1.2", "up", 10*time.Second)
}

const frrSingleHopConf = `bfd
 peer 198.18.1.2 interface eth0
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
!
`

// TestFRRMultiHop: a multi-hop session through a forwarding namespace
// (TTL 254 on arrival both ways, FRR's and our default minimum) comes Up
// and goes Down when the packets are dropped.
func TestFRRMultiHop(t *testing.T) {
	lab := netlab.NewForTest(t, "bfdm")
	var nss [3]*netlab.Namespace
	for i, name := range []string{"node", "mid", "rtr"} {
		ns, err := lab.AddNamespace(name)
		if err != nil {
			t.Fatal(err)
		}
		nss[i] = ns
	}
	nodeNS, midNS, rtrNS := nss[0], nss[1], nss[2]
	if err := bfdlab.Join(lab, nodeNS, "eth0", []string{"198.18.2.2/24"}, midNS, "eth0", []string{"198.18.2.1/24"}); err != nil {
		t.Fatal(err)
	}
	if err := bfdlab.Join(lab, midNS, "eth1", []string{"198.18.3.1/24"}, rtrNS, "eth0", []string{"198.18.3.2/24"}); err != nil {
		t.Fatal(err)
	}
	// Forwarding inside the lab's middle namespace only.
	if err := midNS.Exec("sysctl", "-qw", "net.ipv4.ip_forward=1"); err != nil {
		t.Fatal(err)
	}
	if err := nodeNS.AddRoute("198.18.3.0/24", "198.18.2.1"); err != nil {
		t.Fatal(err)
	}
	if err := rtrNS.AddRoute("198.18.2.0/24", "198.18.3.1"); err != nil {
		t.Fatal(err)
	}
	_, b := startFRR(t, rtrNS, frrMultiHopConf)
	n := newNode(t, nodeNS)
	c := Config{Local: netip.MustParseAddr("198.18.2.2"), Remote: netip.MustParseAddr("198.18.3.2"), MultiHop: true, Profile: fast}
	n.add(t, c)
	n.waitEvent(t, bfd.Up, 15*time.Second)
	fp, _ := waitFRR(t, b, "198.18.2.2", "up", 10*time.Second)
	if !fp.Multihop {
		t.Errorf("FRR's peer is not multi-hop: %+v", fp)
	}
	if e, _ := cutAndWait(t, n, b, rtrNS, "198.18.2.2"); e.Diag != bfd.DiagControlDetectionExpired {
		t.Errorf("down event %+v", e)
	}
}

// cutAndWait drops BFD packets in FRR's namespace and waits for both
// sides to go Down (each within 5 s), logging the measured times.
func cutAndWait(t *testing.T, n *node, b *bfdlab.BFDD, rtrNS *netlab.Namespace, peer string) (Event, bfdlab.Peer) {
	t.Helper()
	if err := bfdlab.Cut(rtrNS); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	e := n.waitEvent(t, bfd.Down, 5*time.Second)
	fp, frrDown := waitFRR(t, b, peer, "down", 5*time.Second)
	t.Logf("detection after the cut (300ms x 3 = 900ms): barelb %v, FRR %v (polled through vtysh)", e.Time.Sub(cut), frrDown.Sub(cut))
	return e, fp
}

const frrMultiHopConf = `bfd
 peer 198.18.2.2 multihop local-address 198.18.3.2
  receive-interval 300
  transmit-interval 300
  detect-multiplier 3
 !
!
`
