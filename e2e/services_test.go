package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// webApp is a namespace with a Deployment of n backends and one Service
// (spec lines given), deleted when the test ends.
func webApp(t *testing.T, l *lab.Lab, ns string, replicas int, svcSpec string) {
	t.Helper()
	applyYAML(t, l, fmt.Sprintf(`apiVersion: v1
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
  replicas: %[2]d
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
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: %[1]s
spec:
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
%[3]s
`, ns, replicas, svcSpec))
	t.Cleanup(func() {
		_, _ = l.Kubectl(context.Background(), "delete", "namespace", ns, "--wait=false")
	})
}

// TestDualStackService: a RequireDualStack NodePort Service gets a ClusterIP
// per family, and both families work inside (ClusterIP from a node) and
// from outside (NodePort on the nodes' IPv6 and IPv4 addresses).
func TestDualStackService(t *testing.T) {
	l := requireLab(t)
	defer timed("dual-stack ClusterIP and NodePort")()
	webApp(t, l, "dualstack", 2, "  type: NodePort\n  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv6, IPv4]")
	pods := readyPods(t, l, "dualstack", "app=web", 2)
	svc := service(t, l, "dualstack", "web")
	if len(svc.Spec.ClusterIPs) != 2 || !addr(svc.Spec.ClusterIPs[0]).Is6() || !addr(svc.Spec.ClusterIPs[1]).Is4() {
		t.Fatalf("clusterIPs %v, want IPv6 then IPv4", svc.Spec.ClusterIPs)
	}
	np := int(svc.Spec.Ports[0].NodePort)
	for _, ip := range svc.Spec.ClusterIPs {
		backends(t, l.Nodes[1].NS, lab.URL(addr(ip), 80), names(pods))
	}
	for _, n := range l.Nodes {
		r := get(t, l.ClientNS, lab.URL(n.IPv6, np))
		if r.PodName == "" {
			t.Errorf("NodePort on %s answered %+v", n.IPv6, r)
		}
	}
	backends(t, l.ClientNS, lab.URL(l.Nodes[0].IPv4, np), names(pods))
}

// TestExternalTrafficPolicyLocal: with one backend, only that backend's node
// answers on the NodePort, and the backend sees the client's own address;
// the other nodes drop the traffic, and kube-proxy's health check port
// tells which node has the endpoint. This is kube-proxy matching
// endpoints' nodeName against its own node name. A LoadBalancer Service
// (still <pending>), because only those get a healthCheckNodePort.
func TestExternalTrafficPolicyLocal(t *testing.T) {
	l := requireLab(t)
	defer timed("externalTrafficPolicy: Local")()
	webApp(t, l, "etp-local", 1, "  type: LoadBalancer\n  externalTrafficPolicy: Local")
	pod := readyPods(t, l, "etp-local", "app=web", 1)[0]
	svc := service(t, l, "etp-local", "web")
	np := int(svc.Spec.Ports[0].NodePort)
	if svc.Spec.HealthCheckNodePort == 0 {
		t.Fatal("no healthCheckNodePort allocated")
	}
	for _, n := range l.Nodes {
		if n.Name == pod.Spec.NodeName {
			r := get(t, l.ClientNS, lab.URL(n.IPv4, np))
			if r.PodName != pod.Name || r.Client != lab.ClientIPv4.String() {
				t.Errorf("local node %s answered %+v; want Pod %s seeing client %s", n.Name, r, pod.Name, lab.ClientIPv4)
			}
			// kube-proxy's health check, which load balancers use to find
			// nodes with local endpoints, says so.
			// kube-proxy updates it asynchronously, so poll.
			healthCheck(t, l, n.Name, lab.URL(n.IPv4, int(svc.Spec.HealthCheckNodePort)), `"localEndpoints": 1`)
			continue
		}
		unreachable(t, l.ClientNS, lab.URL(n.IPv4, np))
		healthCheck(t, l, n.Name+" (no local endpoint)", lab.URL(n.IPv4, int(svc.Spec.HealthCheckNodePort)), `"localEndpoints": 0`)
	}
}

// healthCheck polls kube-proxy's health check URL until its body says
// want (a node without a local endpoint answers 503 with a body too).
func healthCheck(t *testing.T, l *lab.Lab, what, url, want string) {
	t.Helper()
	check.Eventually(t, 15*time.Second, "health check on "+what, func() error {
		body, err := lab.Curl(context.Background(), l.ClientNS, url)
		if !strings.Contains(body, want) {
			return fmt.Errorf("%q, %v; want %s", body, err, want)
		}
		return nil
	})
}

// TestPodReadinessAndDeletion: the lab's readiness toggle takes a Pod out of
// its EndpointSlice and out of rotation, and back; deleting a Pod removes
// its namespace and the ReplicaSet's replacement answers.
func TestPodReadinessAndDeletion(t *testing.T) {
	l := requireLab(t)
	defer timed("Pod readiness toggle and deletion")()
	webApp(t, l, "lifecycle", 2, "  type: ClusterIP")
	pods := readyPods(t, l, "lifecycle", "app=web", 2)
	svc := service(t, l, "lifecycle", "web")
	url := lab.URL(addr(svc.Spec.ClusterIP), 80)
	from := l.Nodes[2].NS
	backends(t, from, url, names(pods))

	a, b := pods[0], pods[1]
	if err := l.SetPodReady(ctx(t), "lifecycle", a.Name, false); err != nil {
		t.Fatal(err)
	}
	endpointReady := func(pod string, want bool) func() error {
		return func() error {
			slices, err := l.Client.DiscoveryV1().EndpointSlices("lifecycle").List(context.Background(),
				metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil {
				return err
			}
			for _, s := range slices.Items {
				for _, e := range s.Endpoints {
					if e.TargetRef != nil && e.TargetRef.Name == pod {
						if got := e.Conditions.Ready != nil && *e.Conditions.Ready; got != want {
							return fmt.Errorf("endpoint %s ready=%v", pod, got)
						}
						return nil
					}
				}
			}
			return fmt.Errorf("no endpoint for %s", pod)
		}
	}
	check.Eventually(t, 30*time.Second, "endpoint of "+a.Name+" not ready", endpointReady(a.Name, false))
	// kube-proxy follows the slice; then every answer must come from b.
	check.Eventually(t, 30*time.Second, "only "+b.Name+" answers", func() error {
		for i := 0; i < 10; i++ {
			r, err := lab.Get(context.Background(), from, url)
			if err != nil {
				return err
			}
			if r.PodName != b.Name {
				return fmt.Errorf("answer from %s", r.PodName)
			}
		}
		return nil
	})
	if err := l.SetPodReady(ctx(t), "lifecycle", a.Name, true); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 30*time.Second, "endpoint of "+a.Name+" ready again", endpointReady(a.Name, true))
	backends(t, from, url, []string{a.Name, b.Name})

	if err := l.Client.CoreV1().Pods("lifecycle").Delete(ctx(t), b.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 30*time.Second, "namespace of deleted Pod "+b.Name+" removed", func() error {
		if sandboxExists(l, &b) {
			return fmt.Errorf("still there")
		}
		return nil
	})
	now := readyPods(t, l, "lifecycle", "app=web", 2)
	backends(t, from, url, names(now))
	for _, p := range now {
		if p.Name == b.Name {
			t.Errorf("deleted Pod %s still listed", b.Name)
		}
	}
}

// TestLoadBalancerDataPath: once an address is in the Service's status and a
// node attracts it on the LAN, the client outside reaches every backend
// through it, over IPv4 and IPv6, via kube-proxy's LoadBalancer rules. The
// node's part is played by Node.StandInAnnounce and the status is written
// by hand; a loadBalancerClass keeps barelb's controller, if running, away
// from this Service.
func TestLoadBalancerDataPath(t *testing.T) {
	l := requireLab(t)
	defer timed("LoadBalancer data path (stand-in)")()
	webApp(t, l, "lb-path", 3, "  type: LoadBalancer\n  loadBalancerClass: lab.barelb.io/by-hand\n  ipFamilyPolicy: RequireDualStack")
	pods := readyPods(t, l, "lb-path", "app=web", 3)
	service(t, l, "lb-path", "web")
	v4, v6 := addr("198.18.1.140"), addr("2001:db8:1::140")
	patch := fmt.Sprintf(`{"status":{"loadBalancer":{"ingress":[{"ip":%q},{"ip":%q}]}}}`, v4, v6)
	if _, err := l.Client.CoreV1().Services("lb-path").Patch(ctx(t), "web", types.MergePatchType, []byte(patch), metav1.PatchOptions{}, "status"); err != nil {
		t.Fatal(err)
	}
	node := l.Nodes[1]
	for _, a := range []netip.Addr{v4, v6} {
		withdraw, err := node.StandInAnnounce(a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = withdraw() })
		seen := backends(t, l.ClientNS, lab.URL(a, 80), names(pods))
		t.Logf("curl %s from the client via %s: answers per Pod %v", lab.URL(a, 80), node.Name, seen)
	}
	out := kubectl(t, l, "get", "svc", "-n", "lb-path", "web")
	t.Logf("kubectl get svc -n lb-path:\n%s", indent(out))
}

// TestBackendCrashRestarts: when a Pod's web server dies, the mini kubelet
// restarts it like a container (restartCount 1) and it answers again.
func TestBackendCrashRestarts(t *testing.T) {
	l := requireLab(t)
	defer timed("backend crash and restart")()
	webApp(t, l, "crash", 1, "  type: ClusterIP")
	pod := readyPods(t, l, "crash", "app=web", 1)[0]
	ns := fmt.Sprintf("%s-pod-%s-%s", l.Tag, pod.Namespace, pod.Name)
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil || len(strings.Fields(string(out))) != 1 {
		t.Fatalf("processes in %s: %q, %v; want the one backend", ns, out, err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	check.Eventually(t, 30*time.Second, "restartCount 1 and ready", func() error {
		p, err := l.Client.CoreV1().Pods("crash").Get(context.Background(), pod.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(p.Status.ContainerStatuses) != 1 || p.Status.ContainerStatuses[0].RestartCount != 1 || !podReady(p) {
			return fmt.Errorf("status %+v", p.Status.ContainerStatuses)
		}
		return nil
	})
	if r := get(t, l.Nodes[0].NS, lab.URL(addr(pod.Status.PodIP), 80)); r.PodName != pod.Name {
		t.Errorf("restarted backend answered %+v", r)
	}
}

// TestAPIServerRestart: the lab's API server can be stopped and started
// (tests of barelb under API outages need it); afterwards the controllers,
// kube-proxy and the mini kubelet pick up new work again.
func TestAPIServerRestart(t *testing.T) {
	l := requireLab(t)
	defer timed("kube-apiserver stop and start")()
	began := time.Now()
	l.APIServer.Stop()
	if l.APIServer.Running() {
		t.Fatal("kube-apiserver still running after Stop")
	}
	if err := l.APIServer.Start(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitAPIServer(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver back after %.1fs", time.Since(began).Seconds())
	webApp(t, l, "after-restart", 2, "  type: NodePort")
	pods := readyPods(t, l, "after-restart", "app=web", 2)
	svc := service(t, l, "after-restart", "web")
	backends(t, l.ClientNS, lab.URL(l.Nodes[0].IPv4, int(svc.Spec.Ports[0].NodePort)), names(pods))
}
