package realnodes

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// release is the Helm release name of the lifecycle test, and so the
// prefix of every object the chart makes (barelb-controller, ...).
const release = "barelb"

// streamConnect is the request streams' connect timeout: 3 s, so that a
// SYN lost on this busy shared host and sent again after 1 s (once in six
// runs, during an upgrade) makes a slow request, counted and reported,
// not a failed one; an address nobody answers for still fails requests.
const streamConnect = 3 * time.Second

// TestRealNodesHelmLifecycle goes through an operator's life with barelb
// on real kubelets, with the real helm and the chart as published:
//
//   - helm install: the CRDs, the controller Deployment (2 replicas) and
//     the speaker DaemonSet (one per node) become Ready from the image
//     `make image` builds; a LoadBalancer Service gets an address and the
//     outside client reaches a backend Pod through it.
//   - helm upgrade to a second tag of the image under a stream of
//     requests: the speakers roll one at a time, the memberlist key stays,
//     the address never leaves its node (planned restarts) and no request
//     fails.
//   - a deleted speaker Pod is replaced by its DaemonSet while the Service
//     goes on answering.
//   - helm uninstall: no barelb Deployment, DaemonSet, Pod, Secret, service
//     account or RBAC object is left, no container process on any node
//     and nobody answers ARP for the address; the CRDs stay, as Helm
//     treats crds/.
func TestRealNodesHelmLifecycle(t *testing.T) {
	l := requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	c := l.Client
	ns := lab.ConfigNamespace
	total := time.Now()
	uninstalled := false
	t.Cleanup(func() {
		if !uninstalled {
			_, _ = l.Helm(context.Background(), "uninstall", release, "-n", ns, "--wait", "--timeout", "2m")
		}
	})

	// Install.
	began := time.Now()
	if out, err := l.Helm(ctx, append([]string{"install", release, l.ChartDir(), "-n", ns, "--wait", "--timeout", "3m"}, lab.ChartValues(lab.ImageTag, l.StateDir)...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	pods := waitBarelbPods(t, ctx, l, lab.BarelbImage)
	fmt.Printf("helm install: controller (2) and speakers (%d) Ready %.1fs after helm install began\n", len(l.Nodes), time.Since(began).Seconds())
	for _, p := range pods {
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("%s restarted %d times", p.Name, cs.RestartCount)
			}
		}
	}
	crdNames := chartCRDs(t)
	for _, name := range crdNames {
		if out, err := l.Kubectl(ctx, "get", "crd", name, "-o", "name"); err != nil {
			t.Errorf("helm install did not install CRD %s from crds/: %v: %s", name, err, out)
		}
	}
	key := memberlistKey(t, ctx, l)

	// A pool, backends in Pods and their LoadBalancer Service.
	const appNS = "helm-lb"
	ip, _ := lbService(t, ctx, l, "helm", appNS, true)
	url := lab.URL(ip, 80)
	check.Eventually(t, 60*time.Second, "the client reaches "+url, func() error {
		_, err := lab.Get(ctx, l.ClientNS, url)
		return err
	})
	fmt.Printf("helm install: LoadBalancer %s answering the client %.1fs after helm install began\n", ip, time.Since(began).Seconds())

	// Upgrade to a new tag under a request stream.
	const nextTag = lab.ImageTag + "-next"
	nextImage, err := l.LoadBarelbImage(ctx, nextTag)
	if err != nil {
		t.Fatal(err)
	}
	s := lab.StartStreamWith(l.ClientNS, url, streamConnect)
	defer s.Stop()
	check.Must(t, s.WaitOK(30*time.Second, 20))
	stop := watch(ctx, l, appNS, "web", ip)
	logs := followSpeakerLogs(ctx, l)
	began = time.Now()
	if out, err := l.Helm(ctx, append([]string{"upgrade", release, l.ChartDir(), "-n", ns, "--wait", "--timeout", "4m"}, lab.ChartValues(nextTag, l.StateDir)...)...); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	waitBarelbPods(t, ctx, l, nextImage)
	upgraded := time.Since(began)
	check.Must(t, s.WaitOK(30*time.Second, 20))
	w := stop()
	s.Stop()
	fmt.Printf("helm upgrade %s -> %s: every Pod on the new image and Ready %.1fs after helm upgrade began; request stream: %s; address moved %d times\n",
		lab.ImageTag, nextTag, upgraded.Seconds(), s, w.moves)
	// A rolling update is a planned restart for each speaker: its node
	// keeps its addresses while the speaker is replaced, so the address
	// never moves and not one request fails.
	if w.moves != 0 || s.Failed() > 0 || w.lost > 0 {
		t.Errorf("helm upgrade: the address moved %d times and %d requests failed (%s); want none:\n%s\n%s",
			w.moves, s.Failed(), s, s.Errors(), strings.Join(w.events, "\n"))
		t.Logf("speakers' logs:\n%s", logs.String(ctx, l, 80))
	}
	// maxUnavailable 1: a speaker rolls only once the one before it is
	// Ready again, so every node but one announces at any moment.
	if w.minReady < len(l.Nodes)-1 {
		t.Errorf("during the upgrade only %d of %d speakers were Ready at one point: they did not roll one by one", w.minReady, len(l.Nodes))
	}
	if w.speakers < 2*len(l.Nodes) {
		t.Errorf("saw %d speaker Pods during the upgrade, want every node's old and new one (%d)", w.speakers, 2*len(l.Nodes))
	}
	if k := memberlistKey(t, ctx, l); k != key {
		t.Error("helm upgrade replaced the memberlist key: speakers of the two revisions could not gossip")
	}
	if _, err := lab.Get(ctx, l.ClientNS, url); err != nil {
		t.Fatalf("after the upgrade: %v", err)
	}

	// Delete the announcing node's speaker Pod: its DaemonSet makes a new
	// one, and the Service answers throughout.
	owner := l.NodeByMAC(neighbourMAC(l, ip))
	if owner == nil {
		t.Fatalf("the client's neighbour entry for %s names no lab node", ip)
	}
	old := speakerOn(t, ctx, l, owner.Name)
	s = lab.StartStreamWith(l.ClientNS, url, streamConnect)
	defer s.Stop()
	check.Must(t, s.WaitOK(30*time.Second, 20))
	stop = watch(ctx, l, appNS, "web", ip)
	began = time.Now()
	if err := c.CoreV1().Pods(ns).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 90*time.Second, "a new speaker Pod Ready on "+owner.Name, func() error {
		p := speakerOn(t, ctx, l, owner.Name)
		if p.UID == old.UID || !podReady(p) {
			return fmt.Errorf("%s", describePod(p))
		}
		return nil
	})
	recovered := time.Since(began)
	check.Must(t, s.WaitOK(30*time.Second, 20))
	w = stop()
	s.Stop()
	fmt.Printf("speaker Pod %s on the announcing node %s deleted: replaced and Ready in %.1fs; request stream: %s; address moved %d times\n",
		old.Name, owner.Name, recovered.Seconds(), s, w.moves)
	checkStream(t, "speaker Pod deleted", s, w)
	if w.moves == 0 {
		t.Errorf("the address never left %s while its speaker Pod was replaced", owner.Name)
	}

	// Uninstall.
	began = time.Now()
	if out, err := l.Helm(ctx, "uninstall", release, "-n", ns, "--wait", "--timeout", "2m"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	uninstalled = true
	check.Eventually(t, 90*time.Second, "no Pod left in "+ns, func() error {
		pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if len(pods.Items) > 0 {
			return fmt.Errorf("%d left: %s", len(pods.Items), describePod(&pods.Items[0]))
		}
		return nil
	})
	fmt.Printf("helm uninstall: every barelb Pod gone %.1fs after it began\n", time.Since(began).Seconds())
	left := leftAfterUninstall(t, ctx, l)
	if len(left) > 0 {
		t.Errorf("after helm uninstall these remain:\n%s", strings.Join(left, "\n"))
	}
	for _, name := range crdNames {
		if out, err := l.Kubectl(ctx, "get", "crd", name, "-o", "name"); err != nil {
			t.Errorf("helm uninstall removed CRD %s (Helm keeps crds/): %v: %s", name, err, out)
		}
	}
	// No container of barelb runs on any node: only the backends' Pods
	// (a sandbox and /backend each) are left.
	check.Eventually(t, 30*time.Second, "no barelb process on any node", func() error {
		for _, n := range l.Nodes {
			for _, cmd := range n.ContainerCommands() {
				if strings.HasPrefix(cmd, "/speaker") || strings.HasPrefix(cmd, "/controller") {
					return fmt.Errorf("%s still runs %q", n.Name, cmd)
				}
			}
		}
		return nil
	})
	// No announcement: with the client's entry forgotten, nobody answers
	// who-has for the address.
	if out, err := l.ClientNS.Output("ip", "neigh", "flush", "to", ip.String()); err != nil {
		t.Fatalf("ip neigh flush: %v: %s", err, out)
	}
	if out, err := l.ClientNS.Output("arping", "-c", "3", "-w", "3", "-I", "eth0", ip.String()); err == nil {
		t.Errorf("after helm uninstall someone still answers ARP for %s:\n%s", ip, out)
	}
	fmt.Printf("helm lifecycle (install, Service, upgrade, speaker Pod deleted, uninstall): %.1fs\n", time.Since(total).Seconds())
}

// waitBarelbPods waits until the release's controller (2 replicas) and a
// speaker on every node all run image and are Ready, and no other Pod is
// left in the namespace (an old revision's Pods included).
func waitBarelbPods(t *testing.T, ctx context.Context, l *lab.Lab, image string) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	check.Eventually(t, 3*time.Minute, "barelb Pods Ready on "+image, func() error {
		list, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		controllers, speakers := 0, map[string]bool{}
		var bad []string
		for _, p := range list.Items {
			if !podReady(&p) || p.DeletionTimestamp != nil || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != image {
				bad = append(bad, describePod(&p)+" image "+p.Spec.Containers[0].Image)
				continue
			}
			switch p.Labels["app.kubernetes.io/component"] {
			case "controller":
				controllers++
			case "speaker":
				if !p.Spec.HostNetwork {
					return fmt.Errorf("speaker %s is not on the host network", p.Name)
				}
				speakers[p.Spec.NodeName] = true
			default:
				bad = append(bad, "unexpected Pod "+p.Name)
			}
		}
		if len(bad) > 0 || controllers != 2 || len(speakers) != len(l.Nodes) {
			return fmt.Errorf("%d controllers and speakers on %d nodes Ready; not yet: %v", controllers, len(speakers), bad)
		}
		pods = list.Items
		return nil
	})
	return pods
}

// watched is what watch saw between its start and its stop.
type watched struct {
	minReady int // the fewest speakers Ready at any one poll
	speakers int // distinct speaker Pods seen
	moves    int // changes of the client's neighbour entry for the address
	// events are the moves and every poll that found the Service without
	// its address, timed, for a failure's message.
	events []string
	lost   int // polls that found the Service without its address
}

// watch polls the speaker Pods, the Service's status and the client's
// neighbour entry for its address ip every 50 ms until the returned function is called. A move of the
// address between nodes takes seconds to happen again (a speaker has to
// stop or start), so the polls see every one.
func watch(ctx context.Context, l *lab.Lab, svcNS, svcName string, ip netip.Addr) func() watched {
	ctx, cancel := context.WithCancel(ctx)
	w := watched{minReady: len(l.Nodes)}
	uids := map[string]bool{}
	mac := neighbourMAC(l, ip)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond) // the watch's pace
		defer tick.Stop()
		for ; ctx.Err() == nil; <-tick.C {
			if m := neighbourMAC(l, ip); m != "" && m != mac {
				w.moves++
				w.events = append(w.events, fmt.Sprintf("%s: address moved to %s", time.Now().Format("15:04:05.000"), m))
				mac = m
			}
			if svc, err := l.Client.CoreV1().Services(svcNS).Get(ctx, svcName, metav1.GetOptions{}); err == nil &&
				(len(svc.Status.LoadBalancer.Ingress) == 0 || svc.Status.LoadBalancer.Ingress[0].IP != ip.String()) {
				w.lost++
				w.events = append(w.events, fmt.Sprintf("%s: Service status %v", time.Now().Format("15:04:05.000"), svc.Status.LoadBalancer.Ingress))
			}
			list, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/component=speaker"})
			if err != nil {
				continue
			}
			ready := 0
			for _, p := range list.Items {
				uids[string(p.UID)] = true
				if podReady(&p) && p.DeletionTimestamp == nil {
					ready++
				}
			}
			w.minReady = min(w.minReady, ready)
		}
	}()
	return func() watched {
		cancel()
		<-done
		w.speakers = len(uids)
		return w
	}
}

// checkStream fails the test when a request of s failed but for the one
// a move of the address can cut: requests go one at a time, and the one
// in flight when the client's neighbour entry moves to another node sends
// its next packets to a node whose conntrack does not know the connection,
// which resets it (inherent to layer 2 failover, MetalLB's too). A failed
// connection attempt is never excused: some node always answers.
func checkStream(t *testing.T, what string, s *lab.RequestStream, w watched) {
	t.Helper()
	if w.lost > 0 {
		t.Errorf("%s: the Service lost its address:\n%s", what, strings.Join(w.events, "\n"))
	}
	if s.DialFailed.Load() > 0 || s.OtherFailed.Load() > int64(w.moves) {
		t.Errorf("%s: requests failed (%s; the address moved %d times):\n%s\n%s", what, s, w.moves, s.Errors(), strings.Join(w.events, "\n"))
	} else if s.Failed() > 0 {
		t.Logf("%s: %d in-flight requests reset as the address moved %d times:\n%s\n%s", what, s.Failed(), w.moves, s.Errors(), strings.Join(w.events, "\n"))
	}
}

// lbService applies an IPAddressPool name of the lab's pool with its
// L2Advertisement, and in namespace ns two backend Pods (spread: one per
// node) behind a LoadBalancer Service "web"; it waits for the backends to
// be Ready and for the Service's address, which must come from the pool,
// and returns both.
func lbService(t *testing.T, ctx context.Context, l *lab.Lab, name, ns string, spread bool) (netip.Addr, []corev1.Pod) {
	t.Helper()
	if out, err := l.Apply(ctx, fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  addresses: ["%[3]s-%[4]s"]
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  ipAddressPools: [%[1]s]
`, name, lab.ConfigNamespace, lab.PoolV4[0], lab.PoolV4[1])); err != nil {
		t.Fatalf("apply pool: %v: %s", err, out)
	}
	labels := createBackends(t, ctx, l, ns, "web", spread)
	if _, err := l.Client.CoreV1().Services(ns).Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: labels,
			Ports:    []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	backends := waitPodsReady(t, ctx, l, ns, 2)
	var ip netip.Addr
	check.Eventually(t, 60*time.Second, "Service "+ns+"/web gets a LoadBalancer address", func() error {
		svc, err := l.Client.CoreV1().Services(ns).Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("pending")
		}
		ip, err = netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		return err
	})
	if ip.Less(lab.PoolV4[0]) || lab.PoolV4[1].Less(ip) {
		t.Fatalf("Service got %s, outside the pool %s-%s", ip, lab.PoolV4[0], lab.PoolV4[1])
	}
	return ip, backends
}

// speakerOn returns the speaker Pod on node (the newest if two).
func speakerOn(t *testing.T, ctx context.Context, l *lab.Lab, node string) *corev1.Pod {
	t.Helper()
	list, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{
		LabelSelector: "app.kubernetes.io/component=speaker", FieldSelector: "spec.nodeName=" + node,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) == 0 {
		t.Fatalf("no speaker Pod on %s", node)
	}
	slices.SortFunc(list.Items, func(a, b corev1.Pod) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return &list.Items[len(list.Items)-1]
}

// neighbourMAC is the MAC of the client's neighbour entry for ip (the
// announcing node's LAN interface), "" if it has none.
func neighbourMAC(l *lab.Lab, ip netip.Addr) string {
	out, _ := l.ClientNS.Output("ip", "neigh", "show", ip.String(), "dev", "eth0")
	f := strings.Fields(out)
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		return strings.ToLower(f[i+1])
	}
	return ""
}

func memberlistKey(t *testing.T, ctx context.Context, l *lab.Lab) string {
	t.Helper()
	s, err := l.Client.CoreV1().Secrets(lab.ConfigNamespace).Get(ctx, release+"-memberlist", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(s.Data["secretkey"])
}

// chartCRDs names the CRDs in charts/barelb/crds (metallb.io_<plural>.yaml
// holds <plural>.metallb.io).
func chartCRDs(t *testing.T) []string {
	t.Helper()
	root, err := lab.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(root, "charts", "barelb", "crds", "metallb.io_*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no CRDs in charts/barelb/crds: %v", err)
	}
	var names []string
	for _, f := range files {
		plural := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "metallb.io_"), ".yaml")
		names = append(names, plural+".metallb.io")
	}
	return names
}

// leftAfterUninstall lists what of the release is still in the cluster:
// any Deployment, DaemonSet, Secret, PodDisruptionBudget, NetworkPolicy,
// Role or RoleBinding in the namespace, a service account other than
// default, and ClusterRoles or ClusterRoleBindings named after the
// release or labelled with it.
func leftAfterUninstall(t *testing.T, ctx context.Context, l *lab.Lab) []string {
	t.Helper()
	var left []string
	kinds := "deployments,daemonsets,secrets,poddisruptionbudgets,networkpolicies,roles,rolebindings,serviceaccounts"
	out, err := l.Kubectl(ctx, "get", kinds, "-n", lab.ConfigNamespace, "-o", "name")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, o := range strings.Fields(out) {
		if o != "serviceaccount/default" {
			left = append(left, lab.ConfigNamespace+": "+o)
		}
	}
	out, err = l.Kubectl(ctx, "get", "clusterroles,clusterrolebindings", "-o", "name")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, o := range strings.Fields(out) {
		if strings.HasPrefix(o[strings.Index(o, "/")+1:], release) {
			left = append(left, o)
		}
	}
	out, err = l.Kubectl(ctx, "get", "clusterroles,clusterrolebindings", "-l", "app.kubernetes.io/instance="+release, "-o", "name")
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	left = append(left, strings.Fields(out)...)
	return left
}
