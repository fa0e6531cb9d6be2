// Command controller benchmarks barelb's controller end to end: for each N
// it starts a real control plane (envtest), creates one IPAddressPool and N
// pending LoadBalancer Services, then starts the controller binary as a
// separate process and measures the time until the first Service has an
// address (first_ip_seconds), until every Service has one (seconds), and
// the process's peak RSS. The time starts when the process is started, so
// it includes exec, flag parsing and every informer's initial sync.
// -log-dir keeps the controller's logs (add
// -controller-args=--zap-time-encoding=rfc3339nano to read its timeline).
//
//	KUBEBUILDER_ASSETS=$(hack/tools.sh envtest) go run ./hack/bench/controller -services 1000,10000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/testsupport/testenv"
)

const (
	configNS  = "metallb-system"
	serviceNS = "bench"
	poolCIDR  = "198.18.0.0/16"
	rssTarget = 150.0 // MB, at 10,000 Services
	rssAtN    = 10000
)

// targetSeconds is the time budget for assigning n Services.
func targetSeconds(n int) float64 {
	switch {
	case n <= 1000:
		return 2
	case n <= 10000:
		return 20
	default:
		return 20 * float64(n) / 10000
	}
}

type result struct {
	n       int
	seconds float64
	// firstSeconds is the time from starting the controller to the
	// first Service seen with an address (issue #14: under 0.3 s).
	firstSeconds float64
	peakRSSMB    float64
}

func main() {
	servicesFlag := flag.String("services", "1000,10000", "comma-separated Service counts, one run each")
	creators := flag.Int("creators", 16, "goroutines creating Services during setup")
	timeoutFactor := flag.Float64("timeout-factor", 30, "give up after this many times the target time (at least 60 s)")
	ctrlArgs := flag.String("controller-args", "", "extra flags for the controller, space-separated (default: none, i.e. its defaults)")
	warm := flag.Bool("warm", true, "read each configuration kind once before starting the controller, so the API server's watch caches for them are ready (see runOne)")
	logDir := flag.String("log-dir", "", "keep each run's controller log in this directory (default: a temporary one, removed)")
	flag.Parse()
	// envtest logs through controller-runtime; keep it quiet.
	ctrllog.SetLogger(zap.New(zap.WriteTo(io.Discard)))

	var ns []int
	for _, s := range strings.Split(*servicesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "controller-bench: bad -services entry %q\n", s)
			os.Exit(2)
		}
		ns = append(ns, n)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "barelb-bench-controller-")
	if err != nil {
		fail(err)
	}
	defer os.RemoveAll(tmp)

	bin := filepath.Join(tmp, "controller")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./controller")
	build.Dir = testenv.RepoRoot()
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(tmp)
		fail(fmt.Errorf("building controller: %w", err))
	}

	failed := false
	for _, n := range ns {
		r, err := runOne(ctx, n, bin, tmp, *logDir, *warm, *creators, *timeoutFactor, strings.Fields(*ctrlArgs))
		if err != nil {
			fmt.Fprintf(os.Stderr, "controller-bench: services=%d FAILED: %v\n", n, err)
			failed = true
			if ctx.Err() != nil {
				break
			}
			continue
		}
		target := targetSeconds(n)
		meets := r.seconds < target
		line := fmt.Sprintf("controller-bench: services=%d first_ip_seconds=%.3f seconds=%.2f services_per_second=%.0f peak_rss_mb=%.1f target_seconds=%g",
			n, r.firstSeconds, r.seconds, float64(n)/r.seconds, r.peakRSSMB, target)
		if n == rssAtN {
			line += fmt.Sprintf(" target_rss_mb=%g", rssTarget)
			meets = meets && r.peakRSSMB < rssTarget
		}
		if meets {
			line += " MEETS"
		} else {
			line += " MISSES"
		}
		fmt.Println(line)
	}
	if failed {
		os.RemoveAll(tmp)
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "controller-bench:", err)
	os.Exit(1)
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "controller-bench: "+format+"\n", a...)
}

func runOne(ctx context.Context, n int, bin, tmp, logDir string, warm bool, creators int, timeoutFactor float64, extraArgs []string) (res result, err error) {
	res.n = n
	logf("services=%d: starting control plane", n)
	env, err := testenv.Start()
	if err != nil {
		return res, err
	}
	defer func() {
		if serr := env.Stop(); serr != nil && err == nil {
			err = fmt.Errorf("stopping control plane: %w", serr)
		}
	}()

	// A clientset speaking protobuf keeps the benchmark's own List polling
	// as cheap as possible for the API server it shares with the controller.
	pcfg := rest.CopyConfig(env.Config)
	pcfg.ContentType = "application/vnd.kubernetes.protobuf"
	pcfg.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	cs, err := kubernetes.NewForConfig(pcfg)
	if err != nil {
		return res, err
	}

	for _, name := range []string{configNS, serviceNS} {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
			return res, fmt.Errorf("creating namespace %s: %w", name, err)
		}
	}
	pool := &v1beta1.IPAddressPool{
		ObjectMeta: metav1.ObjectMeta{Name: "bench", Namespace: configNS},
		Spec:       v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{poolCIDR}},
	}
	if err := env.Client.Create(ctx, pool); err != nil {
		return res, fmt.Errorf("creating IPAddressPool: %w", err)
	}

	// A fresh API server builds a custom resource's watch cache on the
	// first request for it and answers LISTs with 429 and Retry-After: 1s
	// until that cache is ready (KEP-4568). One LIST of each configuration
	// kind here (client-go waits out the 429) leaves them ready, as they are
	// on a cluster that has served them before; otherwise the controller's
	// first configuration read sometimes waited that second, and start to
	// first address measured the API server's age.
	for _, gvk := range kube.ConfigKinds {
		if !warm {
			break
		}
		var l unstructured.UnstructuredList
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := env.Client.List(ctx, &l, client.InNamespace(configNS)); err != nil {
			return res, fmt.Errorf("warming the %s watch cache: %w", gvk.Kind, err)
		}
	}

	setup := time.Now()
	if err := createServices(ctx, cs, n, creators); err != nil {
		return res, err
	}
	logf("services=%d: created in %.1fs", n, time.Since(setup).Seconds())

	kubeconfig := filepath.Join(tmp, fmt.Sprintf("kubeconfig-%d", n))
	if err := writeKubeconfig(env.Config, kubeconfig); err != nil {
		return res, err
	}
	if logDir == "" {
		logDir = tmp
	}
	logPath := filepath.Join(logDir, fmt.Sprintf("controller-%d.log", n))
	logFile, err := os.Create(logPath)
	if err != nil {
		return res, err
	}
	defer logFile.Close()

	args := append([]string{"--kubeconfig", kubeconfig, "--namespace", configNS,
		"--metrics-addr", "0", "--health-addr", "0", "--leader-elect=false"}, extraArgs...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	before, merr := apiRequests(ctx, cs)
	durBefore, _ := apiMetric(ctx, cs, "apiserver_request_duration_seconds_sum")
	if merr != nil {
		logf("services=%d: reading apiserver metrics: %v", n, merr)
	}
	// Progress comes from a watch opened before the controller starts:
	// polling with LISTs of 10,000 Services would itself load the API
	// server the controller is being measured against.
	withIP := map[string]bool{}
	w, err := rewatch(ctx, cs, withIP)
	if err != nil {
		return res, err
	}
	defer func() { w.Stop() }()
	if len(withIP) != 0 {
		return res, fmt.Errorf("%d Services have an address before the controller starts", len(withIP))
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return res, fmt.Errorf("starting controller: %w", err)
	}
	logf("services=%d: controller started at %s", n, start.UTC().Format(time.RFC3339Nano))
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			stopController(cmd, exited)
		}
		if err != nil {
			tailLog(logPath, 30)
		}
	}()
	pid := cmd.Process.Pid

	timeout := time.Duration(max(60, timeoutFactor*targetSeconds(n)) * float64(time.Second))
	deadline := start.Add(timeout)
	var peakRSS float64
	var firstAt time.Duration
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for len(withIP) < n {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case werr := <-exited:
			stopped = true
			return res, fmt.Errorf("controller exited early (%v) with %d/%d assigned", werr, len(withIP), n)
		case ev, ok := <-w.ResultChan():
			if !ok {
				// The API server ends watches it finds too slow to keep
				// up with a burst; pick up from a fresh LIST.
				logf("services=%d: the Service watch closed at %d/%d assigned; re-listing", n, len(withIP), n)
				if w, err = rewatch(ctx, cs, withIP); err != nil {
					return res, err
				}
				continue
			}
			svc, isSvc := ev.Object.(*corev1.Service)
			if !isSvc {
				continue
			}
			if len(svc.Status.LoadBalancer.Ingress) > 0 && ev.Type != watch.Deleted {
				withIP[svc.Name] = true
			} else {
				delete(withIP, svc.Name)
			}
			if len(withIP) > 0 && firstAt == 0 {
				firstAt = time.Since(start)
				logf("services=%d: first address seen after %.3fs (at %s; the controller's log has the same clock with -controller-args=--zap-time-encoding=rfc3339nano)",
					n, firstAt.Seconds(), start.Add(firstAt).UTC().Format(time.RFC3339Nano))
			}
		case <-tick.C:
			if rss, ok := procStatusMB(pid, "VmRSS"); ok && rss > peakRSS {
				peakRSS = rss
			}
			if time.Now().After(deadline) {
				return res, fmt.Errorf("timed out after %s with %d/%d assigned", timeout, len(withIP), n)
			}
		}
	}
	res.seconds = time.Since(start).Seconds()
	res.firstSeconds = firstAt.Seconds()
	// The watch said every Service has an address; one LIST checks them
	// all: no address twice, none outside the pool.
	if assigned, err := checkAssigned(ctx, cs, n); err != nil {
		return res, err
	} else if assigned != n {
		return res, fmt.Errorf("the watch saw %d Services with an address, a LIST shows %d", n, assigned)
	}

	// VmHWM is the kernel's record of the peak resident set.
	if hwm, ok := procStatusMB(pid, "VmHWM"); ok && hwm > peakRSS {
		peakRSS = hwm
	}
	res.peakRSSMB = peakRSS
	if cpu, ok := procCPUSeconds(pid); ok {
		logf("services=%d: controller cpu_seconds=%.2f over %.2fs wall", n, cpu, res.seconds)
	}
	durAfter, _ := apiMetric(ctx, cs, "apiserver_request_duration_seconds_sum")
	if after, err := apiRequests(ctx, cs); err == nil && before != nil {
		logf("services=%d: apiserver requests during the run (includes this benchmark's LIST and watch):", n)
		for _, k := range slices.Sorted(maps.Keys(after)) {
			if d := after[k] - before[k]; d > 0 {
				line := fmt.Sprintf("    %-32s %8.0f  (%.2f per Service)", k, d, d/float64(n))
				if durAfter != nil && durBefore != nil && !strings.HasPrefix(k, "WATCH") {
					line += fmt.Sprintf("  mean latency %.1f ms", 1000*(durAfter[k]-durBefore[k])/d)
				}
				logf("%s", line)
			}
		}
	}
	stopped = true
	stopController(cmd, exited)
	return res, nil
}

// rewatch lists the Services, records in withIP those with an address and
// returns a watch that continues from the list.
func rewatch(ctx context.Context, cs kubernetes.Interface, withIP map[string]bool) (watch.Interface, error) {
	list, err := cs.CoreV1().Services(serviceNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	clear(withIP)
	for i := range list.Items {
		if len(list.Items[i].Status.LoadBalancer.Ingress) > 0 {
			withIP[list.Items[i].Name] = true
		}
	}
	w, err := cs.CoreV1().Services(serviceNS).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion})
	if err != nil {
		return nil, fmt.Errorf("watching Services: %w", err)
	}
	return w, nil
}

func createServices(ctx context.Context, cs kubernetes.Interface, n, workers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					return
				}
				svc := &corev1.Service{
					ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("svc-%05d", i), Namespace: serviceNS},
					Spec: corev1.ServiceSpec{
						Type:                          corev1.ServiceTypeLoadBalancer,
						AllocateLoadBalancerNodePorts: ptr.To(false),
						Selector:                      map[string]string{"app": "bench"},
						Ports: []corev1.ServicePort{{
							Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080),
						}},
					},
				}
				if _, err := cs.CoreV1().Services(serviceNS).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
					errs <- fmt.Errorf("creating Service %s: %w", svc.Name, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs // nil when the channel is empty
}

// checkAssigned lists the Services, counts those with an ingress address
// and fails if any address is used twice or lies outside the pool.
func checkAssigned(ctx context.Context, cs kubernetes.Interface, n int) (int, error) {
	list, err := cs.CoreV1().Services(serviceNS).List(ctx, metav1.ListOptions{})
	if err != nil {
		return 0, fmt.Errorf("listing Services: %w", err)
	}
	if len(list.Items) != n {
		return 0, fmt.Errorf("listed %d Services, want %d", len(list.Items), n)
	}
	pool := netip.MustParsePrefix(poolCIDR)
	seen := make(map[string]string, n)
	assigned := 0
	for i := range list.Items {
		svc := &list.Items[i]
		ing := svc.Status.LoadBalancer.Ingress
		if len(ing) == 0 {
			continue
		}
		assigned++
		for _, in := range ing {
			ip, perr := netip.ParseAddr(in.IP)
			if perr != nil || !pool.Contains(ip) {
				return 0, fmt.Errorf("service %s has ingress IP %q outside %s", svc.Name, in.IP, poolCIDR)
			}
			if other, dup := seen[in.IP]; dup {
				return 0, fmt.Errorf("DUPLICATE ADDRESS: %s assigned to both %s and %s", in.IP, other, svc.Name)
			}
			seen[in.IP] = svc.Name
		}
	}
	return assigned, nil
}

func writeKubeconfig(cfg *rest.Config, path string) error {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{
		ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken,
	}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}

// stopController sends SIGTERM and, after 10 s, SIGKILL.
func stopController(cmd *exec.Cmd, exited <-chan error) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// procStatusMB reads a "kB" field of /proc/<pid>/status in MB (2^20 bytes).
func procStatusMB(pid int, field string) (float64, bool) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		fs := strings.Fields(v)
		if len(fs) == 0 {
			return 0, false
		}
		kb, err := strconv.ParseFloat(fs[0], 64)
		if err != nil {
			return 0, false
		}
		return kb / 1024, true
	}
	return 0, false
}

// apiRequests sums apiserver_request_total by verb, resource and
// subresource.
func apiRequests(ctx context.Context, cs *kubernetes.Clientset) (map[string]float64, error) {
	return apiMetric(ctx, cs, "apiserver_request_total")
}

// apiMetric sums a labelled apiserver counter by verb, resource and
// subresource.
func apiMetric(ctx context.Context, cs *kubernetes.Clientset, name string) (map[string]float64, error) {
	b, err := cs.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") {
			continue
		}
		end := strings.LastIndexByte(line, '}')
		if end < 0 {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len(name)+1:end], ",") {
			k, val, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(val, `"`)
		}
		key := labels["verb"] + " " + labels["resource"]
		if labels["subresource"] != "" {
			key += "/" + labels["subresource"]
		}
		out[key] += v
		if labels["code"] == "429" {
			// Refusals are counted apart too: a 429 carries a
			// Retry-After the client waits out (a second at least).
			out[key+" (429)"] += v
		}
	}
	return out, nil
}

// procCPUSeconds is user+system CPU time of pid.
func procCPUSeconds(pid int) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (ut + st) / 100, true // USER_HZ is 100 on Linux
}

func tailLog(path string, lines int) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	logf("last controller log lines (%s):\n%s", path, strings.Join(all, "\n"))
}
