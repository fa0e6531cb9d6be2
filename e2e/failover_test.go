package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// Failover with the real speakers: a SIGKILLed speaker, a node cut off the
// LAN, and a rolling restart (SIGTERM). The IP in these tests is the only
// one the speakers place, so with all three speakers alive the election
// puts it on its first-ranked node; that node taking it back after a
// restart proves it rejoined the membership.

// arpCapture is tcpdump watching ARP on the client's LAN interface.
type arpCapture struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func (c *arpCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

// startARPCapture starts tcpdump in the client namespace and returns once
// it is capturing.
func startARPCapture(t *testing.T, l *lab.Lab) *arpCapture {
	t.Helper()
	c := &arpCapture{done: make(chan struct{})}
	// --immediate-mode: without it libpcap hands packets over a block at
	// a time (or after a 1 s timeout), and SIGINT can end tcpdump with the
	// last block, the whole takeover burst, never printed.
	c.cmd = exec.Command("ip", "netns", "exec", l.ClientNS.Name, "tcpdump", "--immediate-mode", "-l", "-n", "-e", "-i", "eth0", "arp")
	c.cmd.Stdout = c
	stderr, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			if strings.Contains(sc.Text(), "listening on") {
				once.Do(func() { close(listening) })
			}
		}
		_ = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { c.stop() })
	select {
	case <-listening:
	case <-c.done:
		t.Fatal("tcpdump exited before capturing")
	case <-time.After(10 * time.Second):
		t.Fatal("tcpdump is not capturing after 10s")
	}
	return c
}

// stop ends the capture and returns what tcpdump printed.
func (c *arpCapture) stop() string {
	_ = c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.done:
	case <-time.After(5 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

// arpSummary counts, in tcpdump output, the unsolicited announcements of
// ip sent from mac (gratuitous requests "who-has IP tell IP" and replies
// "IP is-at") and the requests the client sent for ip.
func arpSummary(out string, ip netip.Addr, mac string) (gratuitous, asked int) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		src := strings.ToLower(f[1])
		switch {
		case strings.Contains(line, "who-has "+ip.String()+" tell "+lab.ClientIPv4.String()):
			asked++
		case src == mac && (strings.Contains(line, "who-has "+ip.String()+" tell "+ip.String()+",") ||
			strings.Contains(line, "Reply "+ip.String()+" is-at")):
			gratuitous++
		}
	}
	return gratuitous, asked
}

// statusNames waits until some ServiceL2Status of ns/name names node and
// returns every node named (a dead speaker cannot remove its own).
func statusNames(t *testing.T, l *lab.Lab, ns, name string, node *lab.Node) []string {
	t.Helper()
	var nodes []string
	check.Eventually(t, 30*time.Second, "a ServiceL2Status naming "+node.Name, func() error {
		items, err := l2Statuses(t, l, ns, name)
		if err != nil {
			return err
		}
		nodes = nodes[:0]
		for _, it := range items {
			nodes = append(nodes, it.Status.Node)
		}
		if !slices.Contains(nodes, node.Name) {
			return fmt.Errorf("statuses name %v", nodes)
		}
		return nil
	})
	return nodes
}

// l2Failover sets up a Service with three backends and returns its IP and
// the node announcing it, with the client's neighbour entry pointing at
// that node.
func l2Failover(t *testing.T, l *lab.Lab, ns string) (netip.Addr, *lab.Node) {
	t.Helper()
	l2Config(t, l)
	l2Backends(t, l, ns, 3)
	ip := lbService(t, l, ns, "web", "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]")
	a := announcer(t, l, ns, "web", 30*time.Second, nil)
	get(t, l.ClientNS, lab.URL(ip, 80))
	// On a fresh lab every speaker settles for a while after its start
	// (damped fail-back), so the first announcer can still hand the
	// address to the node it belongs to: wait until the status and the
	// client's entry, refreshed by the new owner's gratuitous burst, agree.
	check.Eventually(t, 20*time.Second, "client's neighbour entry for "+ip.String()+" to name the announcer", func() error {
		a = announcer(t, l, ns, "web", 30*time.Second, nil)
		if m := clientNeigh(t, l, ip); m != lanMAC(t, a) {
			return fmt.Errorf("entry is %q, %s's MAC is %s", m, a.Name, lanMAC(t, a))
		}
		return nil
	})
	return ip, a
}

// movedOff waits until the client's neighbour entry for ip names a node
// other than from, and returns that node. It only reads the table.
func movedOff(t *testing.T, l *lab.Lab, ip netip.Addr, from *lab.Node) *lab.Node {
	t.Helper()
	var b *lab.Node
	fromMAC := lanMAC(t, from)
	check.Eventually(t, 15*time.Second, "client's neighbour entry for "+ip.String()+" leaves "+from.Name, func() error {
		m := clientNeigh(t, l, ip)
		if m == fromMAC || m == "" {
			return fmt.Errorf("entry is %q", m)
		}
		if b = l.NodeByMAC(m); b == nil {
			return fmt.Errorf("entry %s is no lab node's", m)
		}
		return nil
	})
	return b
}

// comesBack waits until node announces ip alone again and the client's
// entry names it.
func comesBack(t *testing.T, l *lab.Lab, ns string, ip netip.Addr, a *lab.Node) {
	t.Helper()
	announcer(t, l, ns, "web", 30*time.Second, func(n *lab.Node) error {
		if n != a {
			return fmt.Errorf("announced by %s, want %s back", n.Name, a.Name)
		}
		return nil
	})
	mac := lanMAC(t, a)
	check.Eventually(t, 10*time.Second, "client's neighbour entry back on "+a.Name, func() error {
		if m := clientNeigh(t, l, ip); m != mac {
			return fmt.Errorf("entry is %q", m)
		}
		return nil
	})
	get(t, l.ClientNS, lab.URL(ip, 80))
}

// TestL2FailoverSpeakerKilled: SIGKILL the announcing speaker. Another node
// takes the IP and its gratuitous burst moves the client's neighbour entry
// without the client sending a single ARP request; its ServiceL2Status
// names the new node and the Service answers through it. Restarted, the
// killed speaker rejoins the membership and takes the IP back.
func TestL2FailoverSpeakerKilled(t *testing.T) {
	l := requireSpeaker(t)
	defer timed("l2: failover on a killed speaker")()
	const ns = "l2-kill"
	ip, a := l2Failover(t, l, ns)
	t.Cleanup(func() { _ = a.Speaker.Start() })

	capture := startARPCapture(t, l)
	began := time.Now()
	a.Speaker.Kill()
	b := movedOff(t, l, ip, a)
	moved := time.Since(began)
	out := capture.stop()
	garp, asked := arpSummary(out, ip, lanMAC(t, b))
	t.Logf("speaker on %s killed; client's entry on %s after %v (polled); %d gratuitous packets from %s, %d client requests",
		a.Name, b.Name, moved.Round(10*time.Millisecond), garp, b.Name, asked)
	if garp == 0 {
		t.Errorf("no gratuitous ARP from %s reached the client; tcpdump:\n%s", b.Name, out)
	}
	if asked != 0 {
		t.Errorf("the client asked for %s %d times: the move was not the gratuitous burst's doing; tcpdump:\n%s", ip, asked, out)
	}
	nodes := statusNames(t, l, ns, "web", b)
	if len(nodes) > 1 {
		t.Logf("ServiceL2Status objects name %v: the killed speaker's own is left behind", nodes)
	}
	r := get(t, l.ClientNS, lab.URL(ip, 80))
	if m := clientNeigh(t, l, ip); m != lanMAC(t, b) {
		t.Errorf("after a request the client's entry is %s, want %s's", m, b.Name)
	}
	t.Logf("Service answers through %s (Pod %s)", b.Name, r.PodName)

	began = time.Now()
	if err := a.Speaker.Start(); err != nil {
		t.Fatal(err)
	}
	comesBack(t, l, ns, ip, a)
	damped(t, a, ip, time.Since(began))
}

// TestL2FailoverLinkDown: cut the announcing node off the LAN (its speaker
// keeps running and keeps its API connection over the management LAN).
// Another node takes over, alone answering ARP, the client's entry moves
// and the one ServiceL2Status names it; with the link back the node
// rejoins and takes the IP back.
func TestL2FailoverLinkDown(t *testing.T) {
	l := requireSpeaker(t)
	defer timed("l2: failover on a cut LAN link")()
	const ns = "l2-link"
	ip, a := l2Failover(t, l, ns)
	t.Cleanup(func() { _ = l.RestoreLAN(a) })

	began := time.Now()
	if err := l.CutLAN(a); err != nil {
		t.Fatal(err)
	}
	b := movedOff(t, l, ip, a)
	t.Logf("%s cut off the LAN; client's entry on %s after %v (polled)", a.Name, b.Name, time.Since(began).Round(10*time.Millisecond))
	bMAC := lanMAC(t, b)
	check.Eventually(t, 10*time.Second, "ARP answered by "+b.Name+" only", func() error {
		return onlyFrom(l, clientARP(t, l, 2, ip), 2, bMAC)
	})
	// The cut-off node has no usable LAN interface left, so it drops its
	// own status too: exactly one, naming the new announcer.
	announcer(t, l, ns, "web", 30*time.Second, func(n *lab.Node) error {
		if n != b {
			return fmt.Errorf("status names %s, want %s", n.Name, b.Name)
		}
		return nil
	})
	get(t, l.ClientNS, lab.URL(ip, 80))

	began = time.Now()
	if err := l.RestoreLAN(a); err != nil {
		t.Fatal(err)
	}
	comesBack(t, l, ns, ip, a)
	damped(t, a, ip, time.Since(began))
}

// failbackDelay is the speakers' --failback-delay in the lab (the
// default): a node that came back takes its IPs back only after it.
const failbackDelay = 5 * time.Second

// damped checks that a, back after a restart or a link cut, took ip back
// no sooner than the failback delay (took is when the test saw it back,
// polled, so a little after). Settling starts on a itself when it
// starts or sees its link change, both after the test's clock started.
func damped(t *testing.T, a *lab.Node, ip netip.Addr, took time.Duration) {
	t.Helper()
	t.Logf("%s announces %s again after %v (--failback-delay %v)", a.Name, ip, took.Round(10*time.Millisecond), failbackDelay)
	if took < failbackDelay {
		t.Errorf("%s took %s back after %v, before the %v failback delay", a.Name, ip, took.Round(10*time.Millisecond), failbackDelay)
	}
}

// TestL2RollingRestartLosesNothing: a continuous stream of new connections
// to the LoadBalancer IP while the announcing speaker is stopped with
// SIGTERM (it leaves the membership and keeps answering while the new
// owner's burst goes out), and started again (it takes the IP back). No
// connection attempt may fail.
func TestL2RollingRestartLosesNothing(t *testing.T) {
	l := requireSpeaker(t)
	defer timed("l2: rolling restart under a request stream")()
	const ns = "l2-rolling"
	ip, a := l2Failover(t, l, ns)
	t.Cleanup(func() { _ = a.Speaker.Start() })

	s := lab.StartStream(l.ClientNS, lab.URL(ip, 80))
	defer s.Stop()
	check.Must(t, s.WaitOK(30*time.Second, 20))
	a.Speaker.Stop() // SIGTERM; returns when the speaker has exited
	b := movedOff(t, l, ip, a)
	if nodes := statusNames(t, l, ns, "web", b); len(nodes) > 1 {
		t.Logf("ServiceL2Status objects name %v after %s's speaker exited: its own is left behind", nodes, a.Name)
	}
	check.Must(t, s.WaitOK(30*time.Second, 20))
	if err := a.Speaker.Start(); err != nil {
		t.Fatal(err)
	}
	comesBack(t, l, ns, ip, a)
	check.Must(t, s.WaitOK(30*time.Second, 20))
	s.Stop()
	t.Logf("%s stopped (SIGTERM) and restarted, %s took over meanwhile: %d requests succeeded, %d connection attempts failed, %d requests failed otherwise",
		a.Name, b.Name, s.OK.Load(), s.DialFailed.Load(), s.OtherFailed.Load())
	// The promise is about connection attempts. A request already
	// in flight when the client's neighbour entry moves reaches a node
	// whose conntrack does not know it and is reset: inherent to layer 2
	// failover (MetalLB behaves the same), so it is reported, not failed.
	if s.DialFailed.Load() > 0 {
		t.Errorf("connection attempts failed during the rolling restart:\n%s", s.Errors())
	} else if s.OtherFailed.Load() > 0 {
		t.Logf("in-flight requests reset when the address moved (not connection attempts):\n%s", s.Errors())
	}
}
