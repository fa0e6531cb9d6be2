package layer2

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
)

// The namespace tests build one LAN per test: a switch namespace with a
// bridge, a client namespace and node namespaces, each with eth0 on the
// bridge. Announcers run in this test process with their sockets opened
// inside the node namespaces (Options.InNamespace = Namespace.Do); the
// client side uses the real tools (arping, ndisc6, ip neigh).

const (
	clientV4 = "198.18.0.1/24"
	clientV6 = "2001:db8::1/64"
	lbV4     = "198.18.0.100"
	lbV6     = "2001:db8::100"
)

var (
	ipV4 = netip.MustParseAddr(lbV4)
	ipV6 = netip.MustParseAddr(lbV6)
)

type lan struct {
	t      testing.TB
	lab    *netlab.Lab
	sw     *netlab.Switch
	client *netlab.Namespace
	nodes  []*node
	opts   []func(*Options)
}

type node struct {
	name string
	ns   *netlab.Namespace
	port string // its eth0's port on the switch
	a    *Announcer
	reg  *prometheus.Registry

	mu        sync.Mutex
	changes   []Change
	conflicts [][]Conflict // every list Conflicts.OnChange reported
}

// newLAN builds the switch, the client and n nodes, and starts an
// Announcer on each node, with opts applied to its Options. Everything is
// removed when the test ends.
func newLAN(t testing.TB, n int, opts ...func(*Options)) *lan {
	t.Helper()
	l := &lan{t: t, lab: newLab(t), opts: opts}
	var err error
	if l.sw, err = l.lab.AddSwitch("sw"); err != nil {
		t.Fatal(err)
	}
	if l.client, err = l.lab.AddNamespace("client"); err != nil {
		t.Fatal(err)
	}
	l.plug(l.client, "eth0")
	check.Must(t, l.client.AddAddr("eth0", clientV4))
	check.Must(t, l.client.AddAddr("eth0", clientV6))
	for i := 1; i <= n; i++ {
		ns, err := l.lab.AddNamespace(fmt.Sprintf("node%d", i))
		if err != nil {
			t.Fatal(err)
		}
		port := l.plug(ns, "eth0")
		check.Must(t, ns.AddAddr("eth0", fmt.Sprintf("198.18.0.%d/24", 10+i)))
		check.Must(t, ns.AddAddr("eth0", fmt.Sprintf("2001:db8::%d/64", 10+i)))
		nd := l.start(fmt.Sprintf("node%d", i), ns)
		nd.port = port
		l.nodes = append(l.nodes, nd)
	}
	return l
}

// labMu serializes lab creation. netlab.NewForTest sweeps labs whose
// state file names a dead process, and New writes that file non-atomically:
// a parallel test's sweep can read it empty, take the lab for dead and
// delete its namespaces as they are created.
var labMu sync.Mutex

func newLab(t testing.TB) *netlab.Lab {
	labMu.Lock()
	defer labMu.Unlock()
	return netlab.NewForTest(t, "l2")
}

// plug connects dev in ns to the bridge through a new switch port.
func (l *lan) plug(ns *netlab.Namespace, dev string) string {
	l.t.Helper()
	port, err := l.sw.Plug(ns, dev)
	check.Must(l.t, err)
	return port
}

// start runs an Announcer for ns until the test ends.
func (l *lan) start(name string, ns *netlab.Namespace) *node {
	l.t.Helper()
	nd := &node{name: name, ns: ns, reg: prometheus.NewRegistry()}
	opts := Options{
		InNamespace: ns.Do,
		OnChange: func(c Change) {
			nd.mu.Lock()
			nd.changes = append(nd.changes, c)
			nd.mu.Unlock()
		},
		Conflicts: ConflictOptions{OnChange: func(cs []Conflict) {
			nd.mu.Lock()
			nd.conflicts = append(nd.conflicts, cs)
			nd.mu.Unlock()
		}},
	}
	for _, o := range l.opts {
		o(&opts)
	}
	a, err := New(testr.NewWithInterface(l.t, testr.Options{}).WithName(name), nd.reg, opts)
	if err != nil {
		l.t.Fatal(err)
	}
	nd.a = a
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	// Registered after the lab, so it runs before the namespaces go.
	l.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			l.t.Errorf("%s: Run: %v", name, err)
		}
	})
	eventually(l.t, 5*time.Second, func() (bool, string) {
		got := a.Interfaces(ipV4, Announcement{})
		return len(got) > 0, fmt.Sprintf("%s has no usable interface yet", name)
	})
	return nd
}

func (nd *node) mac(t testing.TB, dev string) string {
	t.Helper()
	m, err := nd.ns.MAC(dev)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(m)
}

// announce sets the node's announced IPs, all allowed everywhere.
func (nd *node) announce(ips ...netip.Addr) {
	set := map[netip.Addr]Announcement{}
	for _, ip := range ips {
		set[ip] = Announcement{}
	}
	nd.a.SetAnnounced(set)
}

// waitBurst waits until ip's gratuitous counter shows rounds full rounds
// (two ARP frames or one advertisement each): after a takeover burst, so
// that no unsolicited packet is mistaken for an answer, or to see a new
// burst go out.
func (nd *node) waitBurst(t testing.TB, ip netip.Addr, rounds int) {
	t.Helper()
	want := float64(rounds)
	if ip.Is4() {
		want *= 2
	}
	eventually(t, 5*time.Second, func() (bool, string) {
		got := nd.counter(t, "metallb_layer2_gratuitous_sent", ip)
		return got >= want, fmt.Sprintf("%s sent %v gratuitous packets for %s, want %v", nd.name, got, ip, want)
	})
}

func (nd *node) counter(t testing.TB, name string, ip netip.Addr) float64 {
	t.Helper()
	families, err := nd.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelIs(m, "ip", ip.String()) {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func labelIs(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func (nd *node) sawChange(pred func(Change) bool) bool {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	for _, c := range nd.changes {
		if pred(c) {
			return true
		}
	}
	return false
}

func (nd *node) changesSeen() []Change {
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return slices.Clone(nd.changes)
}

func (nd *node) forgetChanges() {
	nd.mu.Lock()
	nd.changes = nil
	nd.mu.Unlock()
}

var macRE = regexp.MustCompile(`(?i)([0-9a-f]{2}(:[0-9a-f]{2}){5})`)

// arping sends count ARP requests for ip from the client and returns the
// MAC of every reply, duplicates included.
func (l *lan) arping(count int, ip string) []string {
	l.t.Helper()
	out, _ := l.client.Output("arping", "-c", fmt.Sprint(count), "-W", "0.5", "-i", "eth0", ip)
	if !strings.Contains(out, fmt.Sprintf("%d packets transmitted", count)) {
		l.t.Fatalf("arping did not run as expected:\n%s", out)
	}
	var macs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "bytes from") {
			macs = append(macs, strings.ToLower(macRE.FindString(line)))
		}
	}
	return macs
}

// ndisc6 sends one Neighbor Solicitation for ip from the client, waits for
// every answer, and returns the link-layer addresses advertised.
func (l *lan) ndisc6(ip string) []string {
	l.t.Helper()
	out, _ := l.client.Output("ndisc6", "-m", "-n", "-r", "1", "-w", "800", ip, "eth0")
	if !strings.Contains(out, "Soliciting "+ip) {
		l.t.Fatalf("ndisc6 did not run as expected:\n%s", out)
	}
	var macs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Target link-layer address") {
			macs = append(macs, strings.ToLower(macRE.FindString(line)))
		}
	}
	return macs
}

// neigh returns the client kernel's cached MAC for ip ("" if none).
func (l *lan) neigh(ip string) string {
	mac, _ := l.neighEntry(ip)
	return mac
}

// neighEntry returns the client kernel's cached MAC and NUD state for ip,
// e.g. "02:..", "REACHABLE".
func (l *lan) neighEntry(ip string) (mac, state string) {
	l.t.Helper()
	out, err := l.client.Output("ip", "neigh", "show", ip, "dev", "eth0")
	if err != nil {
		l.t.Fatal(err)
	}
	f := strings.Fields(out)
	if len(f) > 0 {
		state = f[len(f)-1]
	}
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		mac = strings.ToLower(f[i+1])
	}
	return mac, state
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	check.Eventually(t, timeout, "layer2 condition", func() error {
		if ok, msg := cond(); !ok {
			return errors.New(msg)
		}
		return nil
	})
}

func only(macs []string, mac string) bool {
	for _, m := range macs {
		if m != mac {
			return false
		}
	}
	return len(macs) > 0
}
