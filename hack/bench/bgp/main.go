// Command bgp benchmarks barelb's BGP mode end to end on the e2e lab with
// its FRR router (lab.Options.Router): three nodes, each running
// bin/speaker, peer with FRR; bin/controller assigns addresses.
//
// It measures, with the route seen where it takes effect — the router
// namespace's kernel routing table, which zebra fills from FRR's RIB,
// watched over netlink (each change timestamped as it arrives, no polling):
//
//   - advertise: from the moment the Service's ingress IP appears (a watch
//     on Services) to the route's first appearance, and to all three
//     equal-cost next hops; over -services Services created one after
//     another;
//   - withdraw: from the Service delete call to the route's removal, for
//     the same Services deleted one after another;
//   - bulk, -bulk Services (no NodePorts, all selecting one ready
//     backend) with the BGPAdvertisement withheld until every Service has
//     its IP, timing advertisement applied -> every route with three next
//     hops (the speakers' and BGP's share alone); with -bulk-at-once, again
//     created all at once with it in place, timing creation -> every route
//     (API server, controller, speakers and BGP together). Each ends with
//     deleting them all -> no route left.
//
// Needs root and the built binaries (make build):
//
//	go run ./hack/bench/bgp -services 50 -bulk 1000 [-bulk-at-once]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/hack/bench/procmem"
)

const (
	serviceNS = "bench"
	// poolCIDR holds both phases' addresses (2,048), off the node LAN.
	poolCIDR = "198.18.96.0/21"
	targetMS = 100.0
	// rtprotBGP is zebra's protocol number for BGP routes (RTPROT_BGP).
	rtprotBGP = 186
)

var pool = netip.MustParsePrefix(poolCIDR)

var advertisement = fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: bench, namespace: %s}
spec: {ipAddressPools: [bench]}
`, lab.ConfigNamespace)

func main() {
	n := flag.Int("services", 50, "Services created (then deleted) one after another for the latency figures")
	bulk := flag.Int("bulk", 1000, "Services advertised at once for the bulk figure (0 skips it)")
	atOnce := flag.Bool("bulk-at-once", false, "also run the bulk phase with the advertisement in place (creation -> routes; adds ~3-4 min on a loaded 2-core machine)")
	verbose := flag.Bool("v", false, "log the lab's start-up steps")
	flag.Parse()
	if err := run(*n, *bulk, *atOnce, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "bench-bgp:", err)
		os.Exit(1)
	}
}

func run(n, bulk int, atOnce, verbose bool) error {
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces)")
	}
	if n+bulk > 2000 {
		return fmt.Errorf("at most 2,000 Services in all (pool %s)", poolCIDR)
	}
	root, err := lab.FindRepoRoot()
	if err != nil {
		return err
	}
	ctrl, spk := filepath.Join(root, "bin", "controller"), filepath.Join(root, "bin", "speaker")
	for _, p := range []string{ctrl, spk} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing: run make build", p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var logw io.Writer = io.Discard
	if verbose {
		logw = os.Stderr
	}
	began := time.Now()
	l, err := lab.Start(ctx, lab.Options{
		Prefix:     "bnch",
		Router:     true,
		Log:        logw,
		Manifests:  []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")},
		Controller: &lab.Program{Path: ctrl, Args: []string{"--leader-elect=false"}},
		Speaker:    &lab.Program{Path: spk, Args: lab.SpeakerArgs()},
	})
	if err != nil {
		return err
	}
	defer func() {
		if err := l.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "bench-bgp: lab teardown:", err)
		}
		if left := lab.LeftoverNamespaces(l.Tag); len(left) > 0 {
			fmt.Fprintln(os.Stderr, "bench-bgp: namespaces left behind:", left)
		}
	}()
	// A signal ends the run through ctx; the deferred Close tears down.
	fmt.Printf("lab %s up in %.1fs (3 nodes, FRR router, controller, 3 speakers)\n", l.Tag, l.UpIn.Seconds())

	b := &bench{l: l}
	if err := b.setup(ctx); err != nil {
		return err
	}
	defer b.routes.stop()
	if err := b.latency(ctx, n); err != nil {
		return err
	}
	if bulk > 0 {
		if err := b.bulk(ctx, bulk, true); err != nil {
			return err
		}
		if atOnce {
			if err := b.bulk(ctx, bulk, false); err != nil {
				return err
			}
		}
	}
	fmt.Printf("total %.0fs\n", time.Since(began).Seconds())
	return nil
}

type bench struct {
	l      *lab.Lab
	cs     kubernetes.Interface
	ips    *ipWatch
	routes *routeWatch
	nodes  int
}

func (b *bench) setup(ctx context.Context) error {
	cfg := rest.CopyConfig(b.l.RESTConfig)
	cfg.QPS, cfg.Burst = 2000, 2000
	var err error
	if b.cs, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	b.nodes = len(b.l.Nodes)
	if out, err := b.l.Apply(ctx, fmt.Sprintf(`apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: tor, namespace: %[1]s}
spec: {myASN: %[2]d, peerASN: %[3]d, peerAddress: %[4]s, connectTime: 1s}
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: bench, namespace: %[1]s}
spec: {addresses: [%[5]s]}
---
apiVersion: v1
kind: Namespace
metadata: {name: %[6]s}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: backend, namespace: %[6]s}
spec:
  replicas: 1
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      containers: [{name: web, image: backend, ports: [{containerPort: 80}]}]
`, lab.ConfigNamespace, lab.NodeASN, lab.RouterASN, lab.RouterIPv4, poolCIDR, serviceNS)+"---\n"+advertisement); err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	if err := poll(ctx, 60*time.Second, "BGP sessions from every speaker", func() error {
		sum, err := b.l.Router.FRR.Summary()
		if err != nil {
			return err
		}
		for _, nd := range b.l.Nodes {
			if st := sum["ipv4Unicast"][nd.IPv4.String()].State; st != "Established" {
				return fmt.Errorf("%s: %q", nd.IPv4, st)
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := poll(ctx, 60*time.Second, "a ready backend Pod", func() error {
		pods, err := b.cs.CoreV1().Pods(serviceNS).List(ctx, metav1.ListOptions{LabelSelector: "app=bench"})
		if err != nil {
			return err
		}
		for _, p := range pods.Items {
			for _, c := range p.Status.Conditions {
				if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
		}
		return errors.New("none yet")
	}); err != nil {
		return err
	}
	if b.routes, err = watchRoutes(b.l.Router.NS.Name); err != nil {
		return err
	}
	b.ips = watchIPs(ctx, b.cs)
	return nil
}

func service(name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: serviceNS},
		Spec: corev1.ServiceSpec{
			Type:                          corev1.ServiceTypeLoadBalancer,
			AllocateLoadBalancerNodePorts: ptr.To(false),
			ExternalTrafficPolicy:         corev1.ServiceExternalTrafficPolicyCluster,
			Selector:                      map[string]string{"app": "bench"},
			Ports:                         []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}
}

// latency creates n Services one after another, each once the previous
// one's route has all its next hops, then deletes them one after another.
func (b *bench) latency(ctx context.Context, n int) error {
	var adv, full, wd []time.Duration
	var ips []netip.Addr
	for i := range n {
		name := fmt.Sprintf("lat-%03d", i)
		created := time.Now()
		if _, err := b.cs.CoreV1().Services(serviceNS).Create(ctx, service(name), metav1.CreateOptions{}); err != nil {
			return err
		}
		var ip netip.Addr
		var ipAt time.Time
		if err := poll(ctx, 30*time.Second, name+" gets an IP", func() error {
			var ok bool
			ip, ipAt, ok = b.ips.get(name)
			if !ok {
				return errors.New("no ingress yet")
			}
			return nil
		}); err != nil {
			return err
		}
		var first, all time.Time
		if err := poll(ctx, 30*time.Second, fmt.Sprintf("route %s (%s) with %d next hops", ip, name, b.nodes), func() error {
			var ok bool
			first, all, ok = b.routes.since(ip, created, b.nodes)
			if !ok {
				return errors.New("not yet")
			}
			return nil
		}); err != nil {
			return err
		}
		adv = append(adv, first.Sub(ipAt))
		full = append(full, all.Sub(ipAt))
		ips = append(ips, ip)
	}
	for i, ip := range ips {
		name := fmt.Sprintf("lat-%03d", i)
		deleted := time.Now()
		if err := b.cs.CoreV1().Services(serviceNS).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			return err
		}
		var gone time.Time
		if err := poll(ctx, 30*time.Second, fmt.Sprintf("withdrawal of %s (%s)", ip, name), func() error {
			var ok bool
			gone, ok = b.routes.goneSince(ip, deleted)
			if !ok {
				return errors.New("still routed")
			}
			return nil
		}); err != nil {
			return err
		}
		wd = append(wd, gone.Sub(deleted))
	}
	fmt.Printf("\nlatency over %d Services (route = kernel route in the router namespace, installed by zebra from FRR's RIB):\n", n)
	report("advertise: ingress IP seen -> route present", adv)
	report(fmt.Sprintf("advertise: ingress IP seen -> all %d next hops", b.nodes), full)
	report("withdraw:  delete call -> route gone", wd)
	return nil
}

// bulk creates n Services at once and waits until the router routes all
// of them over every node, then deletes them and waits for none. With
// withhold, the BGPAdvertisement is removed first and applied again once
// every Service has its IP: that isolates the speakers and BGP from the
// API server's and the controller's share.
func (b *bench) bulk(ctx context.Context, n int, withhold bool) error {
	if withhold {
		fmt.Printf("\nbulk, advertisement withheld: %d Services with IPs, then the BGPAdvertisement applied; %d speakers\n", n, b.nodes)
		if out, err := b.l.Kubectl(ctx, "-n", lab.ConfigNamespace, "delete", "bgpadvertisement", "bench"); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
	} else {
		fmt.Printf("\nbulk, created at once: %d Services (no NodePorts, one shared ready backend), %d speakers\n", n, b.nodes)
	}
	b.routes.reset()
	b.ips.forget("bulk-")
	began := time.Now()
	if err := parallel(n, func(i int) error {
		_, err := b.cs.CoreV1().Services(serviceNS).Create(ctx, service(fmt.Sprintf("bulk-%04d", i)), metav1.CreateOptions{})
		return err
	}); err != nil {
		return err
	}
	created := time.Since(began)
	fmt.Printf("  all %d Services created                         %8.2fs\n", n, created.Seconds())
	var allIPs time.Duration
	ipsDone := func() {
		if allIPs == 0 && b.ips.count("bulk-") == n {
			allIPs = time.Since(began)
			fmt.Printf("  all %d have ingress IPs (controller)            %8.2fs\n", n, allIPs.Seconds())
		}
	}
	if withhold {
		if err := poll(ctx, 3*time.Minute, fmt.Sprintf("%d Services with IPs", n), func() error {
			if ipsDone(); allIPs == 0 {
				return fmt.Errorf("%d of %d", b.ips.count("bulk-"), n)
			}
			return nil
		}); err != nil {
			return err
		}
		if got := b.routes.countPresent(); got != 0 {
			return fmt.Errorf("%d routes without a BGPAdvertisement", got)
		}
		began = time.Now()
		if out, err := b.l.Apply(ctx, advertisement); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
	}
	if err := poll(ctx, 5*time.Minute, fmt.Sprintf("%d routes with %d next hops", n, b.nodes), func() error {
		ipsDone()
		if got := b.routes.countFull(b.nodes); got < n {
			return fmt.Errorf("%d of %d routed over %d nodes (%d with IPs)", got, n, b.nodes, b.ips.count("bulk-"))
		}
		return nil
	}); err != nil {
		return err
	}
	routed := b.routes.lastFull().Sub(began)
	sum, err := b.l.Router.FRR.Summary()
	if err != nil {
		return err
	}
	var rcvd []int
	for _, nd := range b.l.Nodes {
		rcvd = append(rcvd, sum["ipv4Unicast"][nd.IPv4.String()].PrefixesReceived)
	}
	if withhold {
		fmt.Printf("  BGPAdvertisement applied -> all %d routed via %d next hops %8.2fs   (FRR prefixes received per speaker: %v)\n", n, b.nodes, routed.Seconds(), rcvd)
	} else {
		fmt.Printf("  all %d routed via %d next hops in the router       %8.2fs   (FRR prefixes received per speaker: %v)\n", n, b.nodes, routed.Seconds(), rcvd)
		fmt.Printf("  last route after the last IP                    %8.2fs\n", max(routed-allIPs, 0).Seconds())
	}
	b.memory(n)

	delBegan := time.Now()
	if err := parallel(n, func(i int) error {
		return b.cs.CoreV1().Services(serviceNS).Delete(ctx, fmt.Sprintf("bulk-%04d", i), metav1.DeleteOptions{})
	}); err != nil {
		return err
	}
	if err := poll(ctx, 3*time.Minute, "every bulk route withdrawn", func() error {
		if got := b.routes.countPresent(); got > 0 {
			return fmt.Errorf("%d routes left", got)
		}
		return nil
	}); err != nil {
		return err
	}
	fmt.Printf("  all %d deleted -> all routes gone               %8.2fs\n", n, b.routes.lastGone().Sub(delBegan).Seconds())
	return nil
}

// memory prints each node's speaker and BGP process (cmd/speaker-bgp)
// peak RSS while they announce n routes.
func (b *bench) memory(n int) {
	for _, nd := range b.l.Nodes {
		spk := procmem.Find(nd.Speaker.PID(), "speaker")
		s, err := procmem.Read(spk)
		if err != nil {
			fmt.Printf("  %s: %v\n", nd.Name, err)
			continue
		}
		line := fmt.Sprintf("  %s, %d routes: speaker peak RSS %.1f MiB", nd.Name, n, s.HWM)
		details := []string{s.Detail()}
		if pid := procmem.Child(spk, "speaker-bgp"); pid != 0 {
			if g, err := procmem.Read(pid); err == nil {
				line += fmt.Sprintf(", its BGP process %.1f MiB, together %.1f MiB", g.HWM, s.HWM+g.HWM)
				details = append(details, g.Detail())
			}
		} else {
			line += " (no speaker-bgp child found)"
		}
		fmt.Println(line)
		for _, d := range details {
			fmt.Printf("    (%s)\n", d)
		}
	}
}

// parallel runs fn(0..n-1) on 16 goroutines and returns the first error.
func parallel(n int, fn func(i int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

func report(what string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	pct := func(q float64) time.Duration { return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)] }
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	verdict := "meets"
	if ms(pct(0.5)) >= targetMS {
		verdict = "MISSES"
	}
	fmt.Printf("  %-48s p50 %7.1f ms  p99 %7.1f ms  min %6.1f ms  max %7.1f ms  (%s p50 < %.0f ms)\n",
		what, ms(pct(0.5)), ms(pct(0.99)), ms(s[0]), ms(s[len(s)-1]), verdict, targetMS)
}

// poll checks cond every 2 ms until it holds, the timeout passes or ctx
// ends. Timestamps come from the watches, not from here.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v: %v", what, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// ipWatch records when each Service's IPv4 ingress was first seen.
type ipWatch struct {
	mu   sync.Mutex
	seen map[string]ipSeen
}

type ipSeen struct {
	ip netip.Addr
	at time.Time
}

func watchIPs(ctx context.Context, cs kubernetes.Interface) *ipWatch {
	w := &ipWatch{seen: map[string]ipSeen{}}
	f := informers.NewSharedInformerFactoryWithOptions(cs, 0, informers.WithNamespace(serviceNS))
	inf := f.Core().V1().Services().Informer()
	note := func(obj any) {
		now := time.Now()
		svc, ok := obj.(*corev1.Service)
		if !ok {
			return
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			a, err := netip.ParseAddr(in.IP)
			if err != nil || !a.Is4() {
				continue
			}
			w.mu.Lock()
			if _, ok := w.seen[svc.Name]; !ok {
				w.seen[svc.Name] = ipSeen{a, now}
			}
			w.mu.Unlock()
		}
	}
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    note,
		UpdateFunc: func(_, o any) { note(o) },
	})
	f.Start(ctx.Done())
	f.WaitForCacheSync(ctx.Done())
	return w
}

func (w *ipWatch) get(name string) (netip.Addr, time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.seen[name]
	return s.ip, s.at, ok
}

// forget drops the Services whose names start with prefix.
func (w *ipWatch) forget(prefix string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name := range w.seen {
		if strings.HasPrefix(name, prefix) {
			delete(w.seen, name)
		}
	}
}

func (w *ipWatch) count(prefix string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := 0
	for name := range w.seen {
		if strings.HasPrefix(name, prefix) {
			c++
		}
	}
	return c
}

// routeWatch follows BGP routes into the pool in the router namespace's
// kernel table over netlink.
type routeWatch struct {
	done    chan struct{}
	stopped atomic.Bool

	mu    sync.Mutex
	state map[netip.Addr]*routeState
}

type routeState struct {
	nh     int       // current next hops (0: no route)
	added  time.Time // last time the route appeared
	fullNH []time.Time
	gone   time.Time // last time it disappeared
}

func watchRoutes(nsName string) (*routeWatch, error) {
	h, err := netns.GetFromName(nsName)
	if err != nil {
		return nil, err
	}
	w := &routeWatch{done: make(chan struct{}), state: map[netip.Addr]*routeState{}}
	ch := make(chan netlink.RouteUpdate, 65536)
	err = netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{
		Namespace:         &h,
		ReceiveBufferSize: 32 << 20,
		ErrorCallback: func(err error) {
			if w.stopped.Load() {
				return // the socket closing under the receiver
			}
			// A lost update (socket buffer overrun) would skew figures:
			// say so loudly.
			fmt.Fprintln(os.Stderr, "bench-bgp: netlink route watch:", err)
		},
	})
	_ = h.Close()
	if err != nil {
		return nil, err
	}
	go func() {
		for u := range ch {
			w.apply(u, time.Now())
		}
	}()
	return w, nil
}

func (w *routeWatch) stop() { w.stopped.Store(true); close(w.done) }

func (w *routeWatch) apply(u netlink.RouteUpdate, now time.Time) {
	if u.Dst == nil || u.Protocol != rtprotBGP {
		return
	}
	ones, bits := u.Dst.Mask.Size()
	a, ok := netip.AddrFromSlice(u.Dst.IP)
	if !ok || ones != bits {
		return
	}
	a = a.Unmap()
	if !pool.Contains(a) {
		return
	}
	nh := len(u.MultiPath)
	if nh == 0 && u.Gw != nil {
		nh = 1
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state[a]
	if s == nil {
		s = &routeState{}
		w.state[a] = s
	}
	switch u.Type {
	case unix.RTM_NEWROUTE:
		if s.nh == 0 {
			s.added, s.fullNH = now, nil
		}
		s.nh = nh
		// fullNH[k-1] is when the route first reached k next hops.
		for len(s.fullNH) < nh {
			s.fullNH = append(s.fullNH, now)
		}
	case unix.RTM_DELROUTE:
		s.nh, s.gone = 0, now
	}
}

// since reports, for a route that appeared at or after t, when it
// appeared and when it first had want next hops.
func (w *routeWatch) since(a netip.Addr, t time.Time, want int) (first, all time.Time, ok bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state[a]
	if s == nil || s.nh == 0 || s.added.Before(t) || len(s.fullNH) < want {
		return first, all, false
	}
	return s.added, s.fullNH[want-1], true
}

// goneSince reports when the route disappeared, if that was at or after t.
func (w *routeWatch) goneSince(a netip.Addr, t time.Time) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state[a]
	if s == nil || s.nh != 0 || s.gone.Before(t) {
		return time.Time{}, false
	}
	return s.gone, true
}

// reset forgets routes that are gone.
func (w *routeWatch) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for a, s := range w.state {
		if s.nh == 0 {
			delete(w.state, a)
		}
	}
}

func (w *routeWatch) countFull(want int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := 0
	for _, s := range w.state {
		if s.nh >= want {
			c++
		}
	}
	return c
}

func (w *routeWatch) countPresent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := 0
	for _, s := range w.state {
		if s.nh > 0 {
			c++
		}
	}
	return c
}

// lastFull is the latest time any present route reached its current
// number of next hops.
func (w *routeWatch) lastFull() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Time
	for _, s := range w.state {
		if s.nh > 0 && len(s.fullNH) >= s.nh && s.fullNH[s.nh-1].After(t) {
			t = s.fullNH[s.nh-1]
		}
	}
	return t
}

func (w *routeWatch) lastGone() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var t time.Time
	for _, s := range w.state {
		if s.gone.After(t) {
			t = s.gone
		}
	}
	return t
}
