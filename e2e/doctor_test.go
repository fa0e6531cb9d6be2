package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestDoctorFindsMetalLBSpeaker: a real MetalLB speaker (v0.15.3, built by
// hack/tools.sh from the module proxy) started as a process in one node's
// namespace, beside barelb's speaker, answers ARP for a Service from that
// node, and `kubectl barelb doctor` names the node and fails. doctor sees
// it through the ConfigurationState MetalLB's speaker writes for itself
// ("speaker-" + node) as soon as it starts, which it does wherever it
// runs. The MetalLB speaker refuses to start without its own Pod object,
// so the test creates one (bound to no real node, so no kubelet runs it,
// and with no MetalLB labels or image, so doctor's Pod check is not what
// finds it). It is given its own loadBalancerClass so it answers only for
// the test's Service (which barelb then ignores): in the shared lab it
// must not fight barelb over the other tests' addresses and status
// objects.
func TestDoctorFindsMetalLBSpeaker(t *testing.T) {
	l := lbLab(t)
	defer timed("doctor: a MetalLB speaker process in a node namespace")()
	root, err := lab.FindRepoRoot()
	check.Must(t, err)
	out, err := exec.Command(filepath.Join(root, "hack", "tools.sh"), "metallb-speaker").Output()
	if err != nil {
		t.Fatalf("building MetalLB's speaker with hack/tools.sh: %v", err)
	}
	metallb := strings.TrimSpace(string(out))
	plugin := pluginOn(t, l)
	const ns, pool, class, ip = "lb-metallb", "e2e-lb-metallb", "metallb-e2e", "198.18.1.196"
	node := l.Nodes[len(l.Nodes)-1]

	lbPool(t, l, pool, ip+"/32")
	// One backend on node, and policy Local: only node may announce, so
	// the MetalLB speaker there is the one that answers.
	lbNamespace(t, l, ns, 1, "      nodeName: "+node.Name)
	applyYAML(t, l, lbServiceYAML(ns, "dup", pool, 80, nil, "  loadBalancerClass: "+class+"\n  externalTrafficPolicy: Local"))
	// MetalLB's speaker announces a policy-Local Service only from a node
	// with a ready endpoint: wait for it, so a slow backend is not
	// mistaken for a speaker that does not answer.
	readyPods(t, l, ns, "app=web", 1)
	cx := context.Background()
	check.Eventually(t, 30*time.Second, "the Service's address set by hand (no MetalLB controller)", func() error {
		svc, err := l.Client.CoreV1().Services(ns).Get(cx, "dup", metav1.GetOptions{})
		if err != nil {
			return err
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: ip}}
		_, err = l.Client.CoreV1().Services(ns).UpdateStatus(cx, svc, metav1.UpdateOptions{})
		return err
	})

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: lab.ConfigNamespace, Name: "stand-in-for-metallb-speaker"},
		Spec: corev1.PodSpec{NodeName: "no-such-node", Containers: []corev1.Container{{Name: "x", Image: "stand-in:none", ImagePullPolicy: corev1.PullNever}}}}
	_, err = l.Client.CoreV1().Pods(lab.ConfigNamespace).Create(cx, pod, metav1.CreateOptions{})
	check.Must(t, err)
	t.Cleanup(func() {
		_ = l.Client.CoreV1().Pods(lab.ConfigNamespace).Delete(context.Background(), pod.Name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
	})

	// barelb ignores the Service (its class is not barelb's): nobody
	// answers for the address until MetalLB's speaker starts.
	if macs, err := repliers(l, addr(ip)); err == nil {
		t.Fatalf("%s answered by %v before MetalLB's speaker started", ip, macs)
	}

	logf, err := os.Create(filepath.Join(t.TempDir(), "metallb-speaker.log"))
	check.Must(t, err)
	proc, err := node.NS.Start(logf, metallb, "--kubeconfig="+l.Kubeconfig, "--namespace="+lab.ConfigNamespace,
		"--node-name="+node.Name, "--pod-name="+pod.Name, "--lb-class="+class, "--port=17472", "--log-level=debug")
	check.Must(t, err)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			proc.Kill()
			_, _ = l.Kubectl(context.Background(), "delete", "-n", lab.ConfigNamespace, "configurationstate", "speaker-"+node.Name, "--ignore-not-found")
		}
	}
	t.Cleanup(stop)
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("MetalLB speaker log (tail):\n%s", tail(string(b), 6000))
			out, _ := l.Kubectl(context.Background(), "get", "-n", ns, "endpointslices,pods,services", "-o", "wide")
			t.Logf("in %s:\n%s", ns, out)
		}
	})

	// It is a real second implementation: it answers ARP from node.
	mac := nodeLANMAC(t, node)
	check.Eventually(t, 60*time.Second, "the MetalLB speaker answering ARP for "+ip, func() error {
		macs, err := repliers(l, addr(ip))
		if err != nil {
			return err
		}
		if !slices.Contains(macs, mac) {
			return fmt.Errorf("repliers %v, want %s (%s)", macs, mac, node.Name)
		}
		return nil
	})
	want := fmt.Sprintf("a MetalLB speaker runs on node %s (it wrote ConfigurationState %s/speaker-%s)", node.Name, lab.ConfigNamespace, node.Name)
	var doc string
	check.Eventually(t, 30*time.Second, "doctor naming the MetalLB speaker", func() error {
		var err error
		doc, err = plugin("doctor")
		if code := exitCode(err); code != 1 || !strings.Contains(doc, want) {
			return fmt.Errorf("exit %d:\n%s", code, doc)
		}
		return nil
	})
	t.Logf("doctor with a MetalLB speaker on %s:\n%s", node.Name, doc)
	// barelb's own view of the node is unchanged: status still reads
	// barelb's speaker there, not MetalLB's state.
	if st, err := plugin("status"); err != nil || !strings.Contains(lineWith(st, node.Name+" "), "Valid") {
		t.Errorf("status with MetalLB's state present (%v):\n%s", err, st)
	}

	stop()
	check.Eventually(t, 30*time.Second, "doctor clean once MetalLB's speaker is gone", func() error {
		if out, err := plugin("doctor"); err != nil {
			return fmt.Errorf("%v:\n%s", err, out)
		}
		return nil
	})
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
