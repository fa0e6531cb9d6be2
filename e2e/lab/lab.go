package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Lab is a running cluster. Fields are set by Start and read-only after.
type Lab struct {
	Tag      string
	StateDir string
	// Kubeconfig works inside the lab's namespaces (API server at
	// 198.18.0.1:6443): for the speaker, the controller, and
	// `ip netns exec <tag>-cp kubectl`.
	Kubeconfig string
	// HostKubeconfig works from the host, through the lab process's
	// loopback forwarder, while the lab process runs.
	HostKubeconfig string

	CP, Switch, ClientNS *netlab.Namespace
	Nodes                []*Node

	Etcd, APIServer, ControllerManager *Component
	Scheduler                          *Component // real-node labs only
	Controller                         *Component // nil when not configured
	// Router is the FRR router and the client behind it (Options.Router).
	Router *Router

	// Client and RESTConfig talk to the API server from the lab process.
	Client     kubernetes.Interface
	RESTConfig *rest.Config

	// Timings records how long each start-up phase took.
	Timings []Timing
	// UpIn is how long Start took in all.
	UpIn time.Duration
	// Warnings are problems that did not stop the lab, such as a manifest
	// that failed to apply.
	Warnings []string

	opts            Options
	net             *netlab.Lab
	logDir          string
	tools           map[string]string
	backendPath     string
	caPEM           []byte
	adminCert       certPair
	proxyKubeconfig string
	// componentKubeconfig maps "controller" and "speaker" to kubeconfigs
	// for their service accounts (identity.go).
	componentKubeconfig map[string]string
	fwd                 *forwarder
	kubelet             *kubelet
	// Real nodes: the CA file kubelets trust, the CNI plugins, the image
	// tarballs.
	caFile, cniDir, imageDir string

	bgCancel context.CancelFunc
	bg       sync.WaitGroup

	vethMu   sync.Mutex // netlab.Veth uses fixed temporary link names
	nodeMu   sync.Mutex
	notReady map[string]bool
	slotMu   sync.Mutex
	slots    map[string]map[int]bool

	began     time.Time
	phase     time.Time
	closeOnce sync.Once
	closeErr  error
}

// Timing is one start-up phase and its duration.
type Timing struct {
	Phase string
	D     time.Duration
}

// Start brings a lab up and returns it ready: API server answering, nodes
// registered and Ready, kube-proxy programmed on every node, the mini
// kubelet running Pods, manifests applied, barelb components started. On
// any error or when ctx ends, everything already made is torn down.
func Start(ctx context.Context, opts Options) (*Lab, error) {
	opts.defaults()
	if os.Geteuid() != 0 {
		return nil, errors.New("lab: needs root (network namespaces, nftables)")
	}
	if opts.Nodes < 1 || opts.Nodes > maxNodes {
		return nil, fmt.Errorf("lab: Nodes = %d, want 1..%d", opts.Nodes, maxNodes)
	}
	l := &Lab{
		opts:     opts,
		notReady: map[string]bool{},
		slots:    map[string]map[int]bool{},
		began:    time.Now(),
	}
	l.phase = l.began
	bg, cancel := context.WithCancel(context.Background())
	l.bgCancel = cancel
	sctx, scancel := context.WithTimeout(ctx, opts.StartTimeout)
	defer scancel()
	if err := l.up(sctx, bg); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = fmt.Errorf("%w (and teardown: %v)", err, cerr)
		}
		return nil, fmt.Errorf("lab: start: %w", err)
	}
	l.UpIn = time.Since(l.began)
	l.step("lab %s up in %.1fs", l.Tag, l.UpIn.Seconds())
	return l, nil
}

func (l *Lab) up(ctx, bg context.Context) error {
	// State directories first: a dead real-node lab's containers are
	// found through their shims, which die with the node namespaces.
	sweepStateDirs()
	_ = netlab.Sweep()
	if err := l.resolveBinaries(ctx); err != nil {
		return err
	}
	l.timing("tools")

	var err error
	if l.opts.Tag != "" {
		if err := claimFixed(l.opts.Tag, l.opts.StateDir); err != nil {
			return err
		}
		l.net, err = netlab.NewFixed(l.opts.Tag)
	} else {
		l.net, err = netlab.New(l.opts.Prefix)
	}
	if err != nil {
		return err
	}
	l.Tag = l.net.Tag
	if err := l.makeStateDir(); err != nil {
		return err
	}
	if l.opts.RealNodes {
		if err := l.buildImages(ctx); err != nil {
			return err
		}
		l.timing("images")
	} else if err := l.buildBackend(ctx); err != nil {
		return err
	}
	if err := l.buildNetwork(); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	l.timing("network")
	l.step("namespaces %s-{sw,cp,node1..%d,client} wired", l.Tag, len(l.Nodes))
	if l.opts.Router {
		if err := l.startRouter(); err != nil {
			return err
		}
	}

	if err := l.startControlPlane(ctx); err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	l.timing("etcd+kube-apiserver")
	if l.fwd, err = newForwarder(l.CP, fmt.Sprintf("127.0.0.1:%d", APIPort)); err != nil {
		return err
	}
	l.HostKubeconfig = filepath.Join(l.StateDir, "kubeconfig")
	if err := writeKubeconfig(l.HostKubeconfig, "https://"+l.fwd.addr(), l.caPEM, l.adminCert); err != nil {
		return err
	}
	if err := l.registerNodes(ctx); err != nil {
		return fmt.Errorf("nodes: %w", err)
	}
	if l.opts.RealNodes {
		// The kubelets first: kube-proxy takes the node's addresses from
		// the Node's status, which a kubelet fills in on registration;
		// started before, it waits 30 s for them.
		if err := l.startRealNodes(ctx); err != nil {
			return fmt.Errorf("real nodes: %w", err)
		}
	} else {
		// Real kubelets keep their own Nodes fresh.
		l.bg.Add(1)
		go func() { defer l.bg.Done(); l.keepNodesFresh(bg) }()
	}
	if err := l.startKubeProxies(); err != nil {
		return err
	}
	if err := l.waitControllerManager(ctx); err != nil {
		return fmt.Errorf("kube-controller-manager: %w", err)
	}
	l.timing("kube-controller-manager")
	if err := l.waitKubeProxies(ctx); err != nil {
		return err
	}
	l.timing("kube-proxy")
	l.step("nodes registered, kube-proxy (nftables) ready on %d nodes", len(l.Nodes))
	if !l.opts.RealNodes {
		if err := l.startKubelet(bg); err != nil {
			return err
		}
	}
	// MetalLB's configuration namespace, which the seed's IPAddressPool and
	// L2Advertisement name.
	if err := l.ensureNamespace(ctx, ConfigNamespace); err != nil {
		return err
	}
	for _, m := range l.opts.Manifests {
		if _, err := os.Stat(m); err != nil {
			l.step("manifests %s: skipped (%v)", m, err)
			continue
		}
		// A manifest that does not apply (a CRD in progress) leaves the
		// cluster itself intact: warn loudly and go on, so the lab still
		// serves everything that does not depend on it.
		if out, err := l.Kubectl(ctx, "apply", "--server-side", "--recursive", "-f", m); err != nil {
			w := fmt.Sprintf("apply %s failed, barelb components may not work: %v: %s", m, err, clip(out, 6, 300))
			l.Warnings = append(l.Warnings, w)
			l.step("WARNING: %s", w)
			continue
		}
		l.step("applied %s", m)
	}
	if err := l.startBarelb(ctx); err != nil {
		return err
	}
	l.timing("kubelet+barelb")
	return l.writeInfo()
}

// connect builds the lab process's client, dialing from the cp namespace.
func (l *Lab) connect() error {
	l.RESTConfig = &rest.Config{
		Host: fmt.Sprintf("https://127.0.0.1:%d", APIPort),
		TLSClientConfig: rest.TLSClientConfig{
			CAData: l.caPEM, CertData: l.adminCert.Cert, KeyData: l.adminCert.Key,
		},
		Dial:  dialerIn(l.CP),
		QPS:   100,
		Burst: 200,
	}
	var err error
	l.Client, err = kubernetes.NewForConfig(l.RESTConfig)
	return err
}

// ConfigNamespace is where barelb's (MetalLB's) configuration objects live.
const ConfigNamespace = "metallb-system"

func (l *Lab) ensureNamespace(ctx context.Context, name string) error {
	_, err := l.Client.CoreV1().Namespaces().Create(ctx,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// Node returns the lab node with the given name (or namespace name).
func (l *Lab) Node(name string) *Node {
	for _, n := range l.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Components lists every process the lab runs, for status and log dumps.
func (l *Lab) Components() []*Component {
	var cs []*Component
	for _, c := range []*Component{l.Etcd, l.APIServer, l.ControllerManager, l.Scheduler, l.Controller} {
		if c != nil {
			cs = append(cs, c)
		}
	}
	for _, n := range l.Nodes {
		for _, c := range []*Component{n.KubeProxy, n.Speaker, n.Kubelet, n.Containerd} {
			if c != nil {
				cs = append(cs, c)
			}
		}
	}
	return cs
}

// Close tears the lab down: barelb components, Pods, kube-proxies, the
// control plane, then every namespace and link. It is idempotent and
// returns every error it met.
func (l *Lab) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.teardown() })
	return l.closeErr
}

func (l *Lab) teardown() error {
	began := time.Now()
	if l.bgCancel != nil {
		l.bgCancel()
	}
	stopAll := func(cs []*Component) {
		var wg sync.WaitGroup
		for _, c := range cs {
			if c == nil {
				continue
			}
			wg.Add(1)
			go func() { defer wg.Done(); c.close() }()
		}
		wg.Wait()
	}
	// Real nodes first: the kubelets would restart what stops under them.
	l.stopRealNodes()
	var nodeComps []*Component
	for _, n := range l.Nodes {
		nodeComps = append(nodeComps, n.Speaker, n.KubeProxy)
	}
	stopAll(append(nodeComps, l.Controller, l.ControllerManager, l.Scheduler))
	if l.kubelet != nil {
		l.kubelet.stop()
	}
	if l.fwd != nil {
		_ = l.fwd.close()
	}
	stopAll([]*Component{l.APIServer})
	stopAll([]*Component{l.Etcd})
	l.bg.Wait()
	l.closeRouter()
	var errs []error
	if l.net != nil {
		if err := l.net.Close(); err != nil {
			errs = append(errs, err)
		}
		// Pod namespaces are made outside netlab's bookkeeping; anything
		// a failed step left behind goes here.
		if err := removeTaggedNetns(l.net.Tag); err != nil {
			errs = append(errs, err)
		}
	}
	if l.StateDir != "" {
		if l.opts.KeepState {
			_ = os.Remove(filepath.Join(l.StateDir, ownerFile))
		} else if err := os.RemoveAll(l.StateDir); err != nil {
			errs = append(errs, err)
		}
	}
	if l.Tag != "" {
		l.step("lab %s torn down in %.1fs", l.Tag, time.Since(began).Seconds())
	}
	return errors.Join(errs...)
}

// removeTaggedNetns deletes namespaces named "<tag>-...".
func removeTaggedNetns(tag string) error {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tag+"-") {
			if err := removeNetns(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// step logs progress with the time since Start began.
func (l *Lab) step(format string, args ...any) {
	fmt.Fprintf(l.opts.Log, "lab: [%5.1fs] %s\n", time.Since(l.began).Seconds(), fmt.Sprintf(format, args...))
}

// timing closes the current start-up phase.
func (l *Lab) timing(phase string) {
	now := time.Now()
	l.Timings = append(l.Timings, Timing{Phase: phase, D: now.Sub(l.phase)})
	l.phase = now
}

// clip shortens command output for a log line: at most lines lines of at
// most width characters each.
func clip(s string, lines, width int) string {
	ls := strings.Split(strings.TrimSpace(s), "\n")
	more := len(ls) - lines
	if more > 0 {
		ls = ls[:lines]
	}
	for i, line := range ls {
		if len(line) > width {
			ls[i] = line[:width] + "..."
		}
	}
	if more > 0 {
		ls = append(ls, fmt.Sprintf("... (%d more lines)", more))
	}
	return strings.Join(ls, "\n")
}
