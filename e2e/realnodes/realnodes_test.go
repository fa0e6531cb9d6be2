package realnodes

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/barelb/barelb/e2e/backend"
	"github.com/barelb/barelb/e2e/lab"
)

// backendContainer runs the backend image with its identity from the
// downward API, as the seed's httpd Pod is configured by its manifest.
func backendContainer(port int32) corev1.Container {
	env := func(name, path string) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
	}
	return corev1.Container{
		Name:            "backend",
		Image:           lab.BackendImage,
		ImagePullPolicy: corev1.PullNever,
		Args: []string{
			fmt.Sprintf("-ports=%d", port),
			"-node-ip=$(NODE_IP)", "-pod-ip=$(POD_IP)", "-node-name=$(NODE_NAME)", "-pod-name=$(POD_NAME)",
		},
		Env: []corev1.EnvVar{
			env("NODE_IP", "status.hostIP"), env("POD_IP", "status.podIP"),
			env("NODE_NAME", "spec.nodeName"), env("POD_NAME", "metadata.name"),
		},
		Ports: []corev1.ContainerPort{{ContainerPort: port}},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(port)}},
			PeriodSeconds: 1,
		},
	}
}

// TestRealNodesRunPods: on a lab of two real kubelets, a Deployment of the
// locally built backend image runs as real Pods (one per node), each with
// an address from its node's Pod CIDR that the other node reaches over
// the lab's routes, and a hostNetwork Pod serves on its node's LAN
// address. Every reply is checked against the Pod's API object: the
// downward API, the CNI-assigned address and the scheduler's placement
// all have to agree.
func TestRealNodesRunPods(t *testing.T) {
	l := requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := l.Client
	ns := "realnodes"
	createBackends(t, ctx, l, ns, "backend", true)
	host := l.Nodes[0]
	hostPod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hostnet", Namespace: ns},
		Spec: corev1.PodSpec{
			HostNetwork:                   true,
			NodeSelector:                  map[string]string{"kubernetes.io/hostname": host.Name},
			Containers:                    []corev1.Container{backendContainer(8081)},
			TerminationGracePeriodSeconds: ptr.To[int64](2),
		},
	}
	if _, err := c.CoreV1().Pods(ns).Create(ctx, hostPod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	began := time.Now()
	pods := waitPodsReady(t, ctx, l, ns, 3)
	fmt.Printf("3 Pods Ready %.1fs after creation\n", time.Since(began).Seconds())

	backends := 0
	for _, p := range pods {
		node := l.Node(p.Spec.NodeName)
		if node == nil {
			t.Fatalf("Pod %s is on %q, not a lab node", p.Name, p.Spec.NodeName)
		}
		other := l.Nodes[0]
		if other == node {
			other = l.Nodes[1]
		}
		port := 80
		if p.Spec.HostNetwork {
			port = 8081
			if p.Status.PodIP != node.IPv4.String() {
				t.Errorf("hostNetwork Pod %s has IP %s, want its node's %s", p.Name, p.Status.PodIP, node.IPv4)
			}
		} else {
			backends++
			if len(p.Status.PodIPs) != 2 {
				t.Errorf("Pod %s has IPs %v, want one IPv4 and one IPv6 (dual-stack CNI)", p.Name, p.Status.PodIPs)
			}
			for _, ip := range p.Status.PodIPs {
				a := netip.MustParseAddr(ip.IP)
				if !node.PodCIDRs[0].Contains(a) && !node.PodCIDRs[1].Contains(a) {
					t.Errorf("Pod %s has IP %s outside its node's Pod CIDRs %v", p.Name, a, node.PodCIDRs)
				}
			}
		}
		for _, ip := range p.Status.PodIPs {
			url := "http://" + net.JoinHostPort(ip.IP, fmt.Sprint(port)) + "/"
			body, err := other.NS.Output("curl", "-sS", "--max-time", "5", url)
			if err != nil {
				t.Errorf("curl %s from %s: %v: %s", url, other.Name, err, body)
				continue
			}
			r, err := backend.Parse(body)
			if err != nil {
				t.Errorf("curl %s from %s: %v", url, other.Name, err)
				continue
			}
			if r.PodName != p.Name || r.NodeName != node.Name || r.PodIP != p.Status.PodIP || r.NodeIP != node.IPv4.String() {
				t.Errorf("curl %s from %s: reply %+v, want Pod %s on %s (%s), Pod IP %s", url, other.Name, r, p.Name, node.Name, node.IPv4, p.Status.PodIP)
			}
			t.Logf("%s from %s: %s", url, other.Name, strings.TrimSpace(body))
		}
	}
	if backends != 2 {
		t.Errorf("%d backend Pods, want 2", backends)
	}
}

// createBackends creates namespace ns and in it a Deployment name of two
// backend Pods labelled app=name, which spread puts on different nodes
// (the scheduler has to honour a required anti-affinity). It returns the
// Pods' labels.
func createBackends(t *testing.T, ctx context.Context, l *lab.Lab, ns, name string, spread bool) map[string]string {
	t.Helper()
	if _, err := l.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{
		Containers:                    []corev1.Container{backendContainer(80)},
		TerminationGracePeriodSeconds: ptr.To[int64](2),
	}
	if spread {
		spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
				LabelSelector: &metav1.LabelSelector{MatchLabels: labels},
				TopologyKey:   "kubernetes.io/hostname",
			}},
		}}
	}
	if _, err := l.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return labels
}

// waitPodsReady waits until namespace ns has want Pods, all Ready, and
// returns them; on timeout it reports each Pod's state.
func waitPodsReady(t *testing.T, ctx context.Context, l *lab.Lab, ns string, want int) []corev1.Pod {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		list, err := l.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err == nil {
			ready := 0
			for _, p := range list.Items {
				if podReady(&p) {
					ready++
				}
			}
			if ready == want && len(list.Items) == want {
				return list.Items
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			var states []string
			if list != nil {
				for _, p := range list.Items {
					states = append(states, describePod(&p))
				}
			}
			t.Fatalf("Pods in %s not all Ready (want %d): %v\n%s", ns, want, err, strings.Join(states, "\n"))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func describePod(p *corev1.Pod) string {
	s := fmt.Sprintf("%s on %q: %s", p.Name, p.Spec.NodeName, p.Status.Phase)
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			s += fmt.Sprintf(" [%s=%s %s %s]", c.Type, c.Status, c.Reason, c.Message)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if w := cs.State.Waiting; w != nil {
			s += fmt.Sprintf(" [%s waiting: %s %s]", cs.Name, w.Reason, w.Message)
		}
		if x := cs.State.Terminated; x != nil {
			s += fmt.Sprintf(" [%s terminated: %s %d]", cs.Name, x.Reason, x.ExitCode)
		}
	}
	return s
}
