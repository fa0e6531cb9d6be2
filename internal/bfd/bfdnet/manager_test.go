package bfdnet

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/net/ipv4"

	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/testsupport/bfdlab"
)

// TestTwoManagersUpCutAndBack: two Managers in two namespaces bring a
// single-hop session Up; dropping BFD packets on one side takes both
// Down by their detection timers (diagnostic 1); healing brings it back.
func TestTwoManagersUpCutAndBack(t *testing.T) {
	p := newPair(t)
	ka := Config{Local: p.aIP, Remote: p.bIP, Interface: "eth0", Profile: fast}
	kb := Config{Local: p.bIP, Remote: p.aIP, Interface: "eth0", Profile: fast}
	p.a.add(t, ka)
	p.b.add(t, kb)
	p.a.waitEvent(t, bfd.Up, 10*time.Second)
	p.b.waitEvent(t, bfd.Up, 10*time.Second)
	// The poll sequence after Up moves both to 300 ms.
	st := p.a.waitState(t, ka.Key(), bfd.Up, time.Second)
	if err := bfdlab.WaitFor(5*time.Second, func() error {
		st, _ = p.a.m.Session(ka.Key())
		if st.Status.Polling || st.Status.TxInterval != 300*time.Millisecond || st.Status.DetectionTime != 900*time.Millisecond {
			return errString("timers not settled")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v: %+v", err, st)
	}

	if err := bfdlab.Cut(p.b.ns); err != nil {
		t.Fatal(err)
	}
	cut := time.Now()
	ea := p.a.waitEvent(t, bfd.Down, 5*time.Second)
	eb := p.b.waitEvent(t, bfd.Down, 5*time.Second)
	t.Logf("detection after the cut: a %v, b %v (profile 300ms x 3 = 900ms)", ea.Time.Sub(cut), eb.Time.Sub(cut))
	for _, e := range []Event{ea, eb} {
		if e.Diag != bfd.DiagControlDetectionExpired || e.From != bfd.Up {
			t.Errorf("down event %+v, want Up -> Down with diagnostic 1", e)
		}
		if d := e.Time.Sub(cut); d > 5*time.Second {
			t.Errorf("detection took %v", d)
		}
	}
	if err := bfdlab.Heal(p.b.ns); err != nil {
		t.Fatal(err)
	}
	p.a.waitEvent(t, bfd.Up, 10*time.Second)
	st = p.a.waitState(t, ka.Key(), bfd.Up, 10*time.Second)
	if st.UpEvents != 2 || st.DownEvents != 1 || st.ControlIn == 0 || st.ControlOut == 0 {
		t.Errorf("counters after one flap: %+v", st)
	}

	// Metrics under MetalLB's names.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(p.a.m))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP metallb_bfd_session_up BFD session state (1 is up, 0 is down)
# TYPE metallb_bfd_session_up gauge
metallb_bfd_session_up{peer="198.18.0.2"} 1
# HELP metallb_bfd_session_up_events Number of BFD session up events
# TYPE metallb_bfd_session_up_events counter
metallb_bfd_session_up_events{peer="198.18.0.2"} 2
# HELP metallb_bfd_session_down_events Number of BFD session down events
# TYPE metallb_bfd_session_down_events counter
metallb_bfd_session_down_events{peer="198.18.0.2"} 1
`), "metallb_bfd_session_up", "metallb_bfd_session_up_events", "metallb_bfd_session_down_events"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg, "metallb_bfd_control_packet_input", "metallb_bfd_control_packet_output"); err != nil || n != 2 {
		t.Errorf("packet counters: %d %v", n, err)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestTimerChangeWhileUpAndRemove: changing one side's intervals while Up
// runs a poll sequence without a flap; Remove sends AdminDown, which takes
// the peer Down at once with diagnostic 3.
func TestTimerChangeWhileUpAndRemove(t *testing.T) {
	p := newPair(t)
	ca := Config{Local: p.aIP, Remote: p.bIP, Profile: fast}
	cb := Config{Local: p.bIP, Remote: p.aIP, Profile: fast}
	p.a.add(t, ca)
	p.b.add(t, cb)
	p.a.waitEvent(t, bfd.Up, 10*time.Second)
	p.b.waitEvent(t, bfd.Up, 10*time.Second)

	slow := fast
	slow.TransmitInterval, slow.ReceiveInterval = 600*time.Millisecond, 500*time.Millisecond
	ca.Profile = slow
	p.a.add(t, ca)
	if err := bfdlab.WaitFor(5*time.Second, func() error {
		sa, _ := p.a.m.Session(ca.Key())
		sb, _ := p.b.m.Session(cb.Key())
		// b now sends at a's 500ms RX and detects a in 3 x 600ms.
		if sa.Status.Polling || sa.Status.TxInterval != 600*time.Millisecond || sb.Status.TxInterval != 500*time.Millisecond || sb.Status.DetectionTime != 1800*time.Millisecond {
			return errString("not settled")
		}
		return nil
	}); err != nil {
		sa, _ := p.a.m.Session(ca.Key())
		sb, _ := p.b.m.Session(cb.Key())
		t.Fatalf("after the change: a %+v, b %+v", sa, sb)
	}
	for _, n := range []*node{p.a, p.b} {
		select {
		case e := <-n.events:
			t.Errorf("state change during the timer change: %+v", e)
		default:
		}
	}

	start := time.Now()
	p.a.m.Remove(ca.Key())
	e := p.b.waitEvent(t, bfd.Down, 5*time.Second)
	if e.Diag != bfd.DiagNeighborDown || e.RemoteDiag != bfd.DiagAdminDown {
		t.Errorf("peer's event after Remove: %+v, want diagnostic 3 with remote diagnostic 7", e)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the peer took %v to go down after Remove; AdminDown should be immediate", d)
	}
	if _, ok := p.a.m.Session(ca.Key()); ok {
		t.Error("session still listed after Remove")
	}
}

// TestTTLAndDemux: a single-hop packet with TTL 254 is dropped (RFC 5881
// §5); one with TTL 255 from an address with no session, and one with an
// unknown Your Discriminator, find no session; garbage is malformed. A
// multi-hop packet below MinimumTTL is dropped, one at it accepted.
func TestTTLAndDemux(t *testing.T) {
	p := newPair(t)
	single := Config{Local: p.bIP, Remote: p.aIP, Profile: bfd.Profile{PassiveMode: true}}
	p.b.add(t, single)
	down := bfd.Packet{State: bfd.Down, DetectMult: 3, MyDiscr: 5, DesiredMinTx: 1e6, RequiredMinRx: 1e6}
	sendTo(t, p, SingleHopPort, 254, bfd.Encode(&down))
	waitDiscard(t, p.b.m, DiscardTTL, 1)
	if st, _ := p.b.m.Session(single.Key()); st.ControlIn != 0 || st.Status.RemoteDiscr != 0 {
		t.Errorf("a TTL 254 packet reached the session: %+v", st)
	}
	unknown := down
	unknown.YourDiscr = 12345
	sendTo(t, p, SingleHopPort, 255, bfd.Encode(&unknown))
	waitDiscard(t, p.b.m, DiscardNoSession, 1)
	sendTo(t, p, SingleHopPort, 255, []byte("not bfd at all, but long enough!"))
	waitDiscard(t, p.b.m, DiscardMalformed, 1)
	// A good packet reaches the passive session, which then answers.
	sendTo(t, p, SingleHopPort, 255, bfd.Encode(&down))
	st := p.b.waitState(t, single.Key(), bfd.Init, 2*time.Second)
	if st.Status.RemoteDiscr != 5 || st.ControlIn != 1 {
		t.Errorf("after a valid packet: %+v", st)
	}

	multi := Config{Local: p.bIP, Remote: p.aIP, MultiHop: true, Profile: bfd.Profile{PassiveMode: true, MinimumTTL: 250}}
	p.b.add(t, multi)
	sendTo(t, p, MultiHopPort, 249, bfd.Encode(&down))
	waitDiscard(t, p.b.m, DiscardTTL, 2)
	sendTo(t, p, MultiHopPort, 250, bfd.Encode(&down))
	if st := p.b.waitState(t, multi.Key(), bfd.Init, 2*time.Second); st.ControlIn != 1 {
		t.Errorf("multi-hop session after a TTL 250 packet: %+v", st)
	}
	// The single-hop session with the same addresses did not get it.
	if st, _ := p.b.m.Session(single.Key()); st.ControlIn != 1 {
		t.Errorf("single-hop session counted a multi-hop packet: %+v", st)
	}
	// Two sessions to one remote still scrape: the second label is the key.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(p.b.m))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP metallb_bfd_control_packet_input Number of received BFD control packets
# TYPE metallb_bfd_control_packet_input counter
metallb_bfd_control_packet_input{peer="198.18.0.1"} 1
metallb_bfd_control_packet_input{peer="198.18.0.1 multihop from 198.18.0.2"} 1
# HELP barelb_bfd_discarded_packets_total BFD packets received but accepted by no session, by reason
# TYPE barelb_bfd_discarded_packets_total counter
barelb_bfd_discarded_packets_total{reason="malformed"} 1
barelb_bfd_discarded_packets_total{reason="no_session"} 1
barelb_bfd_discarded_packets_total{reason="queue_full"} 0
barelb_bfd_discarded_packets_total{reason="refused"} 0
barelb_bfd_discarded_packets_total{reason="ttl"} 2
`), "metallb_bfd_control_packet_input", "barelb_bfd_discarded_packets_total"); err != nil {
		t.Error(err)
	}
}

// sendTo sends a raw datagram from a to b's port with the given TTL.
func sendTo(t *testing.T, p *pair, port, ttl int, pk []byte) {
	t.Helper()
	err := p.a.ns.Do(func() error {
		c, err := net.ListenPacket("udp4", p.aIP.String()+":0")
		if err != nil {
			return err
		}
		defer c.Close()
		if err := ipv4.NewPacketConn(c).SetTTL(ttl); err != nil {
			return err
		}
		_, err = c.WriteTo(pk, &net.UDPAddr{IP: p.bIP.AsSlice(), Port: port})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIPv6 runs two single-hop sessions between the same namespaces,
// one over global and one over link-local addresses: both come Up, which
// needs the hop limit check and demultiplexing by address to work.
func TestIPv6(t *testing.T) {
	p := newPair(t)
	if err := p.a.ns.AddAddr("eth0", "2001:db8::1/64"); err != nil {
		t.Fatal(err)
	}
	if err := p.b.ns.AddAddr("eth0", "2001:db8::2/64"); err != nil {
		t.Fatal(err)
	}
	lla, llb := linkLocal(t, p.a), linkLocal(t, p.b)
	ga, gb := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	p.a.add(t, Config{Local: ga, Remote: gb, Profile: fast})
	p.b.add(t, Config{Local: gb, Remote: ga, Profile: fast})
	p.a.add(t, Config{Local: lla, Remote: llb, Interface: "eth0", Profile: fast})
	p.b.add(t, Config{Local: llb, Remote: lla, Interface: "eth0", Profile: fast})
	for _, k := range []Key{{Local: ga, Remote: gb}, {Local: lla, Remote: llb, Interface: "eth0"}} {
		st := p.a.waitState(t, k, bfd.Up, 10*time.Second)
		if st.ControlIn == 0 {
			t.Errorf("%v: %+v", k, st)
		}
	}
	if d := p.a.m.Snapshot().Discards; d[DiscardTTL]+d[DiscardNoSession] != 0 {
		t.Errorf("discards %+v", d)
	}
}

func linkLocal(t *testing.T, n *node) netip.Addr {
	t.Helper()
	var a netip.Addr
	err := bfdlab.WaitFor(5*time.Second, func() error {
		out, err := n.ns.Output("ip", "-6", "-o", "addr", "show", "dev", "eth0", "scope", "link")
		if err != nil {
			return err
		}
		for _, f := range strings.Fields(out) {
			if pfx, err := netip.ParsePrefix(f); err == nil && pfx.Addr().IsLinkLocalUnicast() {
				a = pfx.Addr()
				return nil
			}
		}
		return errString("no link-local address yet: " + out)
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func waitDiscard(t *testing.T, m *Manager, reason string, want uint64) {
	t.Helper()
	if err := bfdlab.WaitFor(2*time.Second, func() error {
		if m.Snapshot().Discards[reason] < want {
			return errString("discard " + reason + " not counted")
		}
		return nil
	}); err != nil {
		t.Fatalf("%v: %+v", err, m.Snapshot().Discards)
	}
}
