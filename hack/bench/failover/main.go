// Command failover measures how long a client on the LAN loses a
// LoadBalancer IP when its announcing node fails, with barelb's real
// controller and speakers (bin/, from make build) on the e2e lab, and the
// speaker's peak memory with 1,000 announced IPs. It needs root.
//
//	go run ./hack/bench/failover            # 20 runs per scenario
//
// The LB IP is also held on every node's lo (arp_ignore=1, arp_announce=2,
// so no kernel answers ARP for it), so whichever node the client's frames
// reach answers its pings: the outage measured is the announcement's
// alone, not kube-proxy's. The client pings the IP every 10 ms; a run's
// outage is the longest gap between two replies around the fault.
//
// Scenarios, each repeated -runs times on the announcing node:
//
//	node death    SIGKILL its speaker and cut its LAN link together
//	link loss     cut its LAN link (its switch port down)
//	speaker crash SIGKILL its speaker only
//
// and, on a second lab whose speakers gossip on the management LAN
// (lab.SpeakerArgsGossipOnMgmt), so that memberlist never notices:
//
//	lan cut, gossip on mgmt  cut its LAN link; only the gossiped link
//	                         state (link-aware election) moves the IP
//
// and, on two more labs (-labs flap, flap.go), the announcing node's LAN
// link flapping every 2 s for a minute, with and without damped
// fail-back: moves of the IP seen by the client, per flap.
//
// After each run the node is restored (link up, speaker restarted) and the
// bench waits until it announces the IP alone again, which it does only
// once the others see it alive (the IP's first-ranked node) and it has
// settled (--failback-delay, 5 s by default, is part of every run).
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/hack/bench/procmem"
	"github.com/barelb/barelb/internal/kube/crkube"
)

const (
	benchNS  = "bench"
	foPool   = "bench-failover"
	rssPool  = "bench-rss"
	foIP     = "198.18.1.150"   // on the node LAN, clear of the seed's pool
	rssRange = "198.18.16.0/22" // 1,024 addresses, clear of every lab range
)

// speakerEnv is -speaker-env: added to the environment of the speakers
// the lan, mgmt and mem labs start.
var speakerEnv []string

type scenario struct {
	name       string
	kill, link bool
}

var scenarios = []scenario{
	{"node death", true, true},
	{"link loss", false, true},
	{"speaker crash", true, false},
}

// mgmtScenarios run on the lab with gossip on the management LAN.
var mgmtScenarios = []scenario{
	{"lan cut, gossip on mgmt", false, true},
}

func main() {
	runs := flag.Int("runs", 20, "runs per scenario")
	ips := flag.Int("ips", 1000, "announced IPs for the memory figure (0 skips it)")
	labs := flag.String("labs", "lan,mgmt,flap", "labs to run: lan (gossip on the node LAN: node death, link loss, speaker crash, memory), mgmt (gossip on the management LAN: LAN cut), flap (a node flapping for a minute, with and without damped fail-back), mem (the memory figure alone)")
	extra := flag.String("speaker-args", "", "extra speaker flags, space-separated (--conflict-detection=false, say, to measure without the probe wait)")
	flapOnly := flag.String("flap-case", "", "run only the flap cases whose name contains this")
	env := flag.String("speaker-env", "", "extra speaker environment, space-separated KEY=VALUE (GOGC=50, say; the bench's own environment reaches every lab process)")
	flag.Parse()
	speakerEnv = strings.Fields(*env)
	if err := run(*runs, *ips, strings.Split(*labs, ","), strings.Fields(*extra), *flapOnly); err != nil {
		fmt.Fprintln(os.Stderr, "bench-failover:", err)
		os.Exit(1)
	}
}

func run(runs, ips int, labs, extra []string, flapOnly string) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	root, err := lab.FindRepoRoot()
	if err != nil {
		return err
	}
	ctrlBin, spkBin := filepath.Join(root, "bin", "controller"), filepath.Join(root, "bin", "speaker")
	for _, p := range []string{ctrlBin, spkBin} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing: run make build first", p)
		}
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	began := time.Now()
	results := map[string][]time.Duration{}
	var ran []scenario
	flap := false
	for _, which := range labs {
		var err error
		switch which {
		case "lan":
			err = runLab(ctx, root, "bfo", append(lab.SpeakerArgs(), extra...), scenarios, runs, ips, results)
			ran = append(ran, scenarios...)
		case "mgmt":
			err = runLab(ctx, root, "bfm", append(lab.SpeakerArgsGossipOnMgmt(3), extra...), mgmtScenarios, runs, 0, results)
			ran = append(ran, mgmtScenarios...)
		case "mem":
			// The memory figure alone, on a lab of its own.
			err = runLab(ctx, root, "bfr", append(lab.SpeakerArgs(), extra...), nil, runs, ips, results)
		case "flap":
			flap = true
		default:
			err = fmt.Errorf("-labs: unknown lab %q (lan, mgmt, flap, mem)", which)
		}
		if err != nil {
			return err
		}
	}
	if len(ran) > 0 {
		report(ran, results, runs)
	}
	if flap {
		if err := runFlaps(ctx, root, extra, flapOnly); err != nil {
			return err
		}
	}
	fmt.Printf("\nbench-failover took %.0fs\n", time.Since(began).Seconds())
	return nil
}

// report prints the outage table.
func report(ran []scenario, results map[string][]time.Duration, runs int) {
	fmt.Printf("\nclient outage on %s (longest gap in a 10 ms ping stream), %d runs each:\n", foIP, runs)
	fmt.Printf("  %-24s %8s %8s %8s   target p50 < 1000 ms, max < 2000 ms\n", "scenario", "p50", "p99", "max")
	for _, sc := range ran {
		d := results[sc.name]
		p50, p99, mx := pct(d, 50), pct(d, 99), slices.Max(d)
		verdict := "meets target"
		if p50 >= time.Second || mx >= 2*time.Second {
			verdict = "MISSES target"
		}
		fmt.Printf("  %-24s %6.0fms %6.0fms %6.0fms   %s\n", sc.name, ms(p50), ms(p99), ms(mx), verdict)
	}
	if crash, death := results["speaker crash"], results["node death"]; len(crash) > 0 && len(death) > 0 {
		if slices.Max(crash) > slices.Max(death) {
			fmt.Println("  speaker crash is WORSE than node death (max)")
		} else {
			fmt.Println("  speaker crash is no worse than node death (max)")
		}
	}
}

// runLab starts a lab whose speakers run with speakerArgs, runs each
// scenario runs times into results, then the memory figure (ips > 0).
func runLab(ctx context.Context, root, prefix string, speakerArgs []string, scs []scenario, runs, ips int, results map[string][]time.Duration) error {
	ctrlBin, spkBin := filepath.Join(root, "bin", "controller"), filepath.Join(root, "bin", "speaker")
	l, err := lab.Start(ctx, lab.Options{
		Prefix:     prefix,
		Manifests:  []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")},
		Controller: &lab.Program{Path: ctrlBin, Args: []string{"--leader-elect=false"}},
		Speaker:    &lab.Program{Path: spkBin, Args: speakerArgs, Env: speakerEnv},
	})
	if err != nil {
		return err
	}
	defer closeLab(l)
	fmt.Printf("lab %s up in %.1fs (3 nodes, real controller and speakers)\n", l.Tag, l.UpIn.Seconds())
	b := &bench{l: l, ctx: ctx}
	if err := b.setup(); err != nil {
		return err
	}
	for _, sc := range scs {
		for i := 0; i < runs; i++ {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			gap, victim, err := b.once(sc)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", sc.name, i+1, err)
			}
			results[sc.name] = append(results[sc.name], gap)
			fmt.Printf("  %-24s run %2d on %s: outage %4.0f ms\n", sc.name, i+1, victim, ms(gap))
		}
	}
	if ips > 0 {
		return b.memory(ips)
	}
	return nil
}

func closeLab(l *lab.Lab) {
	if err := l.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "bench-failover: lab teardown:", err)
	}
	if left := lab.LeftoverNamespaces(l.Tag); len(left) > 0 {
		fmt.Fprintln(os.Stderr, "bench-failover: namespaces left behind:", left)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pct is the nearest-rank percentile.
func pct(d []time.Duration, p float64) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

type bench struct {
	l   *lab.Lab
	ctx context.Context
	c   client.Client
	ip  netip.Addr
	// home is the node announcing the IP with every speaker alive.
	home *lab.Node
}

func (b *bench) setup() error {
	var err error
	if b.c, err = client.New(b.l.RESTConfig, client.Options{Scheme: crkube.Scheme()}); err != nil {
		return err
	}
	b.ip = netip.MustParseAddr(foIP)
	// Every node's kernel answers for the IP once frames reach it, and
	// none answers ARP for it: only the speakers do.
	for _, n := range b.l.Nodes {
		for _, kv := range []string{"net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"} {
			if err := n.NS.Exec("sysctl", "-qw", kv); err != nil {
				return err
			}
		}
		if err := n.NS.AddAddr("lo", foIP+"/32"); err != nil {
			return err
		}
	}
	if out, err := b.l.Apply(b.ctx, fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %[1]s
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: %[1]s
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: httpd:latest
        ports:
        - containerPort: 80
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: %[2]s
  namespace: metallb-system
spec:
  addresses: [%[3]s/32]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: %[2]s
  namespace: metallb-system
spec:
  ipAddressPools: [%[2]s]
`, benchNS, foPool, foIP)); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	if err := b.service("failover", foPool, true); err != nil {
		return err
	}
	n, err := b.settled(nil, 90*time.Second)
	if err != nil {
		return err
	}
	b.home = n
	fmt.Printf("%s announced by %s\n", foIP, n.Name)
	return nil
}

// service creates a LoadBalancer Service for the web Pods from pool.
func (b *bench) service(name, pool string, nodePorts bool) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: benchNS, Annotations: map[string]string{"metallb.io/address-pool": pool}},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			Selector:                      map[string]string{"app": "web"},
			Ports:                         []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
			IPFamilyPolicy:                ptr.To(corev1.IPFamilyPolicySingleStack),
			IPFamilies:                    []corev1.IPFamily{corev1.IPv4Protocol},
			AllocateLoadBalancerNodePorts: ptr.To(nodePorts),
		},
	}
	return b.c.Create(b.ctx, svc)
}

// settled waits until exactly one ServiceL2Status of the failover Service
// names want (any node when nil) and the client's neighbour entry for the
// IP, kept fresh by the new owner's gratuitous burst, names it too.
func (b *bench) settled(want *lab.Node, timeout time.Duration) (*lab.Node, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		var list v1beta1.ServiceL2StatusList
		err := b.c.List(b.ctx, &list, client.InNamespace(lab.ConfigNamespace),
			client.MatchingLabels{"metallb.io/service-namespace": benchNS, "metallb.io/service-name": "failover"})
		switch {
		case err != nil:
			last = err.Error()
		case len(list.Items) != 1:
			last = fmt.Sprintf("%d ServiceL2Status objects", len(list.Items))
		default:
			n := b.l.Node(list.Items[0].Status.Node)
			switch {
			case n == nil:
				last = "status names " + list.Items[0].Status.Node
			case want != nil && n != want:
				last = "announced by " + n.Name
			default:
				mac, _ := n.LANMAC()
				neigh := b.neigh()
				if want == nil && neigh == "" {
					// First time: the client has never asked.
					return n, nil
				}
				if neigh == mac {
					return n, nil
				}
				last = fmt.Sprintf("%s announces, client's entry %q", n.Name, neigh)
			}
		}
		if b.ctx.Err() != nil {
			return nil, b.ctx.Err()
		}
		time.Sleep(50 * time.Millisecond) // polling interval
	}
	return nil, fmt.Errorf("not settled after %v: %s", timeout, last)
}

// neigh is the client kernel's MAC for the IP ("" when none).
func (b *bench) neigh() string {
	out, _ := b.l.ClientNS.Output("ip", "neigh", "show", foIP, "dev", "eth0")
	f := strings.Fields(out)
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		return strings.ToLower(f[i+1])
	}
	return ""
}

// pinger is `ping -D -i 0.01` from the client, collecting reply times.
type pinger struct {
	cmd     *exec.Cmd
	mu      sync.Mutex
	replies []time.Time
	done    chan struct{}
}

func startPing(l *lab.Lab, ip string) (*pinger, error) {
	p := &pinger{done: make(chan struct{})}
	p.cmd = exec.Command("ip", "netns", "exec", l.ClientNS.Name, "ping", "-D", "-n", "-i", "0.01", ip)
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			if !strings.Contains(line, "bytes from") || !strings.HasPrefix(line, "[") {
				continue
			}
			end := strings.IndexByte(line, ']')
			sec, err := strconv.ParseFloat(line[1:end], 64)
			if err != nil {
				continue
			}
			at := time.Unix(0, int64(sec*1e9))
			p.mu.Lock()
			p.replies = append(p.replies, at)
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, out)
		_ = p.cmd.Wait()
	}()
	return p, nil
}

// since counts replies received after t.
func (p *pinger) since(t time.Time) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range slices.Backward(p.replies) {
		if !r.After(t) {
			break
		}
		n++
	}
	return n
}

// stop ends ping and returns the longest gap between consecutive replies
// (counting the end of the stream as a reply-less instant).
func (p *pinger) stop() time.Duration {
	end := time.Now()
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	var gap time.Duration
	for i := 1; i < len(p.replies); i++ {
		gap = max(gap, p.replies[i].Sub(p.replies[i-1]))
	}
	if n := len(p.replies); n > 0 {
		gap = max(gap, end.Sub(p.replies[n-1]))
	}
	return gap
}

// once runs one fault on the announcing node, measures the outage, and
// restores the node.
func (b *bench) once(sc scenario) (time.Duration, string, error) {
	v := b.home
	vMAC, err := v.LANMAC()
	if err != nil {
		return 0, "", err
	}
	p, err := startPing(b.l, foIP)
	if err != nil {
		return 0, "", err
	}
	stopped := false
	defer func() {
		if !stopped {
			p.stop()
		}
	}()
	// The stream is flowing before the fault.
	if err := waitFor(5*time.Second, "ping replies before the fault", func() bool { return p.since(time.Time{}) >= 20 }); err != nil {
		return 0, v.Name, err
	}
	fault := time.Now()
	if sc.link {
		if err := b.l.CutLAN(v); err != nil {
			return 0, v.Name, err
		}
	}
	if sc.kill {
		v.Speaker.Kill()
	}
	// Recovered: the client's entry names another node and replies flow
	// after that (for a crash alone they never stop: the old node is
	// still up). 10 s bounds a run that never recovers.
	var moved time.Time
	_ = waitFor(10*time.Second, "", func() bool {
		if moved.IsZero() {
			if m := b.neigh(); m != "" && m != vMAC {
				moved = time.Now()
			}
			return false
		}
		return p.since(moved) >= 20
	})
	gap := p.stop()
	stopped = true
	if moved.IsZero() {
		fmt.Printf("  (%s: client's entry did not leave %s within 10 s)\n", sc.name, v.Name)
		gap = max(gap, time.Since(fault))
	}
	// Restore and wait until the node is back in the membership and has
	// taken its IP back.
	if sc.link {
		if err := b.l.RestoreLAN(v); err != nil {
			return gap, v.Name, err
		}
	}
	if sc.kill {
		if err := v.Speaker.Start(); err != nil {
			return gap, v.Name, err
		}
	}
	if _, err := b.settled(v, 60*time.Second); err != nil {
		return gap, v.Name, fmt.Errorf("restoring %s: %w", v.Name, err)
	}
	return gap, v.Name, nil
}

func waitFor(timeout time.Duration, what string, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %v", what, timeout)
		}
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	return nil
}

// memory announces ips addresses from one node and reports its speaker's
// peak RSS.
func (b *bench) memory(ips int) error {
	n := b.l.Nodes[0]
	fmt.Printf("\nmemory: %d LoadBalancer Services (allocateLoadBalancerNodePorts: false), all announced by %s\n", ips, n.Name)
	if out, err := b.l.Apply(b.ctx, fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  addresses: [%[2]s]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  ipAddressPools: [%[1]s]
  nodeSelectors:
  - matchLabels: {kubernetes.io/hostname: %[3]s}
`, rssPool, rssRange, n.Name)); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	began := time.Now()
	work := make(chan int)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := b.service(fmt.Sprintf("s%04d", i), rssPool, false); err != nil {
					select {
					case errc <- err:
					default:
					}
				}
			}
		}()
	}
	for i := range ips {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errc:
		return fmt.Errorf("creating Services: %w", err)
	default:
	}
	fmt.Printf("  %d Services created in %.1fs\n", ips, time.Since(began).Seconds())
	// Announced: the speaker's own gauge, one series per IP it announces.
	var count int
	err := waitFor(3*time.Minute, "announced IPs", func() bool {
		time.Sleep(time.Second) // scraping interval
		out, _ := n.NS.Output("curl", "-s", "--max-time", "5", "http://127.0.0.1:7474/metrics")
		count = 0
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, "metallb_speaker_announced{") && strings.Contains(line, `protocol="layer2"`) &&
				netip.MustParsePrefix(rssRange).Contains(ipLabel(line)) {
				count++
			}
		}
		return count >= ips
	})
	if err != nil {
		fmt.Printf("  only %d of %d IPs announced after 3 minutes\n", count, ips)
	} else {
		fmt.Printf("  %d IPs announced by %s %.1fs after the first Service was created\n", count, n.Name, time.Since(began).Seconds())
	}
	// Status objects: one per Service, written by the announcer.
	var statuses int
	serr := waitFor(2*time.Minute, "ServiceL2Status objects", func() bool {
		time.Sleep(time.Second) // polling interval
		var list v1beta1.ServiceL2StatusList
		if err := b.c.List(b.ctx, &list, client.InNamespace(lab.ConfigNamespace), client.MatchingLabels{"metallb.io/node": n.Name}); err == nil {
			statuses = len(list.Items)
		}
		return statuses >= ips
	})
	if serr != nil {
		fmt.Printf("  only %d of %d ServiceL2Status objects written after 2 more minutes\n", statuses, ips)
	} else {
		fmt.Printf("  %d ServiceL2Status objects written %.1fs after the first Service was created\n", statuses, time.Since(began).Seconds())
	}
	if mac, err := n.LANMAC(); err == nil {
		probe := netip.MustParsePrefix(rssRange).Addr().Next().String()
		out, _ := b.l.ClientNS.Output("arping", "-c", "1", "-W", "0.5", "-i", "eth0", probe)
		fmt.Printf("  ARP for %s answered from %s: %v\n", probe, n.Name, strings.Contains(strings.ToLower(out), mac))
	}
	// With --pprof-addr=127.0.0.1:6060 among -speaker-args, keep the
	// announcing speaker's heap profile for go tool pprof.
	if out, err := n.NS.Output("curl", "-s", "--max-time", "10", "-o", "/tmp/barelb-speaker-heap.pprof", "-w", "%{http_code}", "http://127.0.0.1:6060/debug/pprof/heap"); err == nil && strings.TrimSpace(out) == "200" {
		fmt.Println("  heap profile of", n.Name+"'s speaker: /tmp/barelb-speaker-heap.pprof (go tool pprof -top -sample_index=inuse_space bin/speaker /tmp/barelb-speaker-heap.pprof), one announcing a single IP: /tmp/barelb-speaker-heap-1ip.pprof")
		for _, m := range b.l.Nodes {
			out, _ := m.NS.Output("curl", "-s", "--max-time", "10", "http://127.0.0.1:6060/debug/pprof/heap?debug=1")
			var keep []string
			for _, line := range strings.Split(out, "\n") {
				for _, k := range []string{"# HeapAlloc", "# HeapSys", "# HeapIdle", "# HeapReleased", "# Stack", "# Sys", "# MSpan", "# GCSys", "# OtherSys", "# NumGC"} {
					if strings.HasPrefix(line, k+" ") {
						keep = append(keep, strings.TrimPrefix(line, "# "))
					}
				}
			}
			fmt.Printf("  %s runtime: %s\n", m.Name, strings.Join(keep, ", "))
			if m != n {
				// One that announces a single IP, for comparison.
				_, _ = m.NS.Output("curl", "-s", "--max-time", "10", "-o", "/tmp/barelb-speaker-heap-1ip.pprof", "http://127.0.0.1:6060/debug/pprof/heap")
			}
		}
	}
	for _, m := range b.l.Nodes {
		hwm, rss, err := memOf(m.Speaker.PID())
		if err != nil {
			return err
		}
		role := "announces the failover IP only"
		if m == n {
			role = fmt.Sprintf("announces the %d IPs", ips)
		}
		fmt.Printf("  speaker on %s (%s): peak RSS (VmHWM) %.1f MiB, RSS now %.1f MiB\n", m.Name, role, hwm, rss)
	}
	return nil
}

func ipLabel(line string) netip.Addr {
	i := strings.Index(line, `ip="`)
	if i < 0 {
		return netip.Addr{}
	}
	rest := line[i+4:]
	a, _ := netip.ParseAddr(rest[:strings.IndexByte(rest, '"')])
	return a
}

// memOf returns VmHWM and VmRSS in MiB of the speaker process pid, or of
// its speaker descendant if pid is a wrapper (ip netns exec, env), and
// prints its breakdown.
func memOf(pid int) (hwm, rss float64, err error) {
	f, err := procmem.Read(procmem.Find(pid, "speaker"))
	if err != nil {
		return 0, 0, err
	}
	fmt.Printf("    (%s)\n", f.Detail())
	return f.HWM, f.RSS, nil
}
