package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
)

// TestSeed002Walkthrough replays seed 002 up to the point barelb takes over:
// the httpd Deployment's three Pods answer with their own identity, a
// ClusterIP Service is reachable inside the cluster only, a NodePort
// Service on every node from the outside client, and a LoadBalancer
// Service stays <pending> because nothing assigns addresses without a pool.
func TestSeed002Walkthrough(t *testing.T) {
	l := requireLab(t)
	var pods []corev1.Pod

	ok := t.Run("deployment", func(t *testing.T) {
		defer timed("seed: deployment 3/3 ready")()
		kubectl(t, l, "apply", "-f", seedFile("service-test-namespace.yaml"))
		kubectl(t, l, "apply", "-f", seedFile("httpd-deployment.yaml"))
		pods = readyPods(t, l, "service-test", "app=httpd", 3)
		t.Logf("kubectl get all -n service-test -o wide:\n%s", indent(kubectl(t, l, "get", "all", "-n", "service-test", "-o", "wide")))
		nodes := map[string]bool{}
		for _, p := range pods {
			nodes[p.Spec.NodeName] = true
			if !sandboxExists(l, &p) {
				t.Errorf("Pod %s has no network namespace", p.Name)
			}
		}
		if len(nodes) != 3 {
			t.Errorf("3 replicas on %d nodes, want one per node: %v", len(nodes), nodes)
		}
		// As the seed curls each Pod from master1: here from node1, so
		// Pods on node2 and node3 also prove host-gateway routing. Both
		// address families.
		for _, p := range pods {
			for _, ip := range p.Status.PodIPs {
				r := get(t, l.Nodes[0].NS, lab.URL(addr(ip.IP), 80))
				if r.PodName != p.Name || r.NodeName != p.Spec.NodeName || r.NodeIP != p.Status.HostIP || r.PodIP != p.Status.PodIP {
					t.Errorf("Pod %s at %s answered %+v; want its own name, node %s (%s) and Pod IP %s",
						p.Name, ip.IP, r, p.Spec.NodeName, p.Status.HostIP, p.Status.PodIP)
				}
			}
		}
	})
	if !ok {
		t.FailNow()
	}

	t.Run("clusterip", func(t *testing.T) {
		defer timed("seed: ClusterIP from a node")()
		kubectl(t, l, "apply", "-f", seedFile("clusterip-service.yaml"))
		defer kubectl(t, l, "delete", "-f", seedFile("clusterip-service.yaml"), "--wait")
		svc := service(t, l, "service-test", "httpd-service")
		url := lab.URL(addr(svc.Spec.ClusterIP), 8080)
		seen := backends(t, l.Nodes[0].NS, url, names(pods))
		t.Logf("curl %s from %s: answers per Pod %v", url, l.Nodes[0].Name, seen)
		t.Logf("kubectl get svc -n service-test:\n%s", indent(kubectl(t, l, "get", "svc", "-n", "service-test")))
		// The seed: "k8sクラスタの外からは、アクセスできません".
		unreachable(t, l.ClientNS, url)
	})

	t.Run("nodeport", func(t *testing.T) {
		defer timed("seed: NodePort from the client")()
		kubectl(t, l, "apply", "-f", seedFile("nodeport-service.yaml"))
		defer kubectl(t, l, "delete", "-f", seedFile("nodeport-service.yaml"), "--wait")
		svc := service(t, l, "service-test", "httpd-service")
		if svc.Spec.Ports[0].NodePort != 30080 {
			t.Fatalf("nodePort %d, want 30080", svc.Spec.Ports[0].NodePort)
		}
		// Every node answers on 30080 and forwards across the cluster
		// (externalTrafficPolicy: Cluster), so each reaches all three Pods.
		for _, n := range l.Nodes {
			url := lab.URL(n.IPv4, 30080)
			seen := backends(t, l.ClientNS, url, names(pods))
			t.Logf("curl %s from the client: answers per Pod %v", url, seen)
		}
		// The ClusterIP still works, as the seed shows.
		get(t, l.Nodes[1].NS, lab.URL(addr(svc.Spec.ClusterIP), 8080))
	})

	t.Run("loadbalancer-pending", func(t *testing.T) {
		defer timed("seed: LoadBalancer <pending>")()
		kubectl(t, l, "apply", "-f", seedFile("loadbalancer-service.yaml"))
		defer kubectl(t, l, "delete", "-f", seedFile("loadbalancer-service.yaml"), "--wait")
		svc := service(t, l, "service-test", "httpd-service")
		np := svc.Spec.Ports[0].NodePort
		if np == 0 {
			t.Fatal("LoadBalancer Service got no NodePort")
		}
		// Still a NodePort and a ClusterIP Service underneath.
		get(t, l.ClientNS, lab.URL(l.Nodes[2].IPv4, int(np)))
		get(t, l.Nodes[0].NS, lab.URL(addr(svc.Spec.ClusterIP), 8080))
		// No IPAddressPool exists, so nothing may assign an address:
		// watch for a while (an observation window, not a wait).
		end := time.Now().Add(3 * time.Second)
		for time.Now().Before(end) {
			s, err := l.Client.CoreV1().Services("service-test").Get(context.Background(), "httpd-service", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Status.LoadBalancer.Ingress) != 0 {
				t.Fatalf("LoadBalancer Service got %v with no pool configured", s.Status.LoadBalancer.Ingress)
			}
			time.Sleep(250 * time.Millisecond) // sampling the window
		}
		out := kubectl(t, l, "get", "svc", "-n", "service-test", "httpd-service")
		t.Logf("kubectl get svc -n service-test:\n%s", indent(out))
		if !strings.Contains(out, "<pending>") {
			t.Errorf("EXTERNAL-IP is not <pending>:\n%s", out)
		}
	})
}
