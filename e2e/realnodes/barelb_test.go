package realnodes

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/backend"
	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// deployManifests reads config/deploy's plain manifests as an operator
// applies them, with two changes a lab needs: the locally built image
// tag, and the speaker told to leave the node's management interface
// alone (it carries API server traffic only, as in the process lab).
func deployManifests(t *testing.T) string {
	t.Helper()
	root, err := lab.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// One manifest, rendered from charts/barelb by make manifests.
	b, err := os.ReadFile(filepath.Join(root, "config", "deploy", "barelb.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	all := string(b)
	for old, repl := range map[string]string{
		"image: barelb:dev":       "image: " + lab.BarelbImage,
		"- --ml-bind-port=7946\n": "- --ml-bind-port=7946\n        - --ignore-interfaces=mgmt0\n",
	} {
		if !strings.Contains(all, old) {
			t.Fatalf("config/deploy no longer contains %q; update this test", old)
		}
		all = strings.ReplaceAll(all, old, repl)
	}
	return all
}

// TestRealNodesBarelbPods installs barelb from config/deploy onto the real
// nodes: the controller Deployment (non-root, from the image's entrypoint
// /controller) and the speaker DaemonSet (root, host network, /speaker)
// become Ready as real Pods on the built image, the controller assigns a
// LoadBalancer Service an address from a pool, a speaker announces it on
// the node LAN, and the outside client gets a backend's answer through it;
// a SIGKILLed speaker is restarted by its kubelet and the Service still
// answers.
func TestRealNodesBarelbPods(t *testing.T) {
	l := requireLab(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := l.Client
	root, err := lab.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	crds := filepath.Join(root, "config", "crd", "bases")
	manifest := deployManifests(t)
	// Everything this test applies goes again, so the next test can
	// install barelb with helm into the same lab: helm refuses to take
	// over objects it did not create, and two speakers per node would
	// fight over the host ports.
	t.Cleanup(func() { removeDeploy(t, l, crds, manifest) })
	if out, err := l.Kubectl(ctx, "apply", "--server-side", "-f", crds); err != nil {
		t.Fatalf("apply config/crd: %v: %s", err, out)
	}
	key := make([]byte, 96)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CoreV1().Secrets(lab.ConfigNamespace).Create(ctx, &corev1.Secret{
		// The name the rendered manifest's speaker reads (--ml-secret-name).
		ObjectMeta: metav1.ObjectMeta{Name: "barelb-memberlist", Namespace: lab.ConfigNamespace},
		Data:       map[string][]byte{"secretkey": []byte(base64.StdEncoding.EncodeToString(key))},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	if out, err := l.Apply(ctx, manifest); err != nil {
		t.Fatalf("apply config/deploy: %v: %s", err, out)
	}
	pods := waitPodsReady(t, ctx, l, lab.ConfigNamespace, 2+len(l.Nodes))
	fmt.Printf("barelb controller (2) and speakers (%d) Ready %.1fs after apply\n", len(l.Nodes), time.Since(began).Seconds())
	speakers := map[string]bool{}
	for _, p := range pods {
		switch p.Labels["app.kubernetes.io/component"] {
		case "speaker":
			if !p.Spec.HostNetwork {
				t.Errorf("speaker %s is not on the host network", p.Name)
			}
			speakers[p.Spec.NodeName] = true
		case "controller":
		default:
			t.Errorf("unexpected Pod %s in %s", p.Name, lab.ConfigNamespace)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if cs.RestartCount != 0 {
				t.Errorf("%s restarted %d times", p.Name, cs.RestartCount)
			}
		}
	}
	if len(speakers) != len(l.Nodes) {
		t.Errorf("speakers on %d nodes, want every one of %d", len(speakers), len(l.Nodes))
	}
	// kubectl logs goes API server -> kubelet -> containerd's log file.
	for _, p := range pods {
		out, err := l.Kubectl(ctx, "logs", "-n", lab.ConfigNamespace, p.Name, "--tail=3")
		if err != nil || strings.TrimSpace(out) == "" {
			t.Errorf("kubectl logs %s: %v: %q", p.Name, err, out)
		}
	}

	// A pool, a backend and its LoadBalancer Service.
	ip, backends := lbService(t, ctx, l, "realnodes", "lb", false)
	names := map[string]bool{}
	for _, p := range backends {
		names[p.Name] = true
	}
	assigned := time.Since(began)

	// The client is on the LAN only: its one way to the Service is a
	// speaker answering ARP for the address.
	url := "http://" + ip.String() + "/"
	var body string
	check.Eventually(t, 60*time.Second, "curl "+url+" from the client", func() error {
		var err error
		body, err = l.ClientNS.Output("curl", "-sS", "--max-time", "3", url)
		return err
	})
	r, perr := backend.Parse(body)
	if perr != nil {
		t.Fatal(perr)
	}
	if !names[r.PodName] {
		t.Errorf("curl %s answered by %q, not one of the Service's backends %v", url, r.PodName, names)
	}
	fmt.Printf("LoadBalancer %s assigned %.1fs and answering the client %.1fs after barelb was applied\n",
		ip, assigned.Seconds(), time.Since(began).Seconds())
	t.Logf("client -> %s: %s", url, strings.TrimSpace(body))

	// A speaker crashes: the kubelet restarts its container (the process
	// lab has no kubelet to do so), it is Ready again, and the Service
	// still answers the client.
	node := l.Nodes[0]
	var speaker corev1.Pod
	for _, p := range pods {
		if p.Labels["app.kubernetes.io/component"] == "speaker" && p.Spec.NodeName == node.Name {
			speaker = p
		}
	}
	pid := speakerPID(t, node)
	crashed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		p, err := c.CoreV1().Pods(lab.ConfigNamespace).Get(ctx, speaker.Name, metav1.GetOptions{})
		last := fmt.Sprint(err)
		if err == nil {
			if podReady(p) && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].RestartCount >= 1 {
				break
			}
			last = describePod(p)
		}
		if time.Now().After(deadline) {
			t.Fatalf("speaker %s not restarted and Ready 90s after SIGKILL: %s", speaker.Name, last)
		}
	}
	fmt.Printf("speaker on %s SIGKILLed: restarted by the kubelet and Ready in %.1fs\n", node.Name, time.Since(crashed).Seconds())
	if body, err := l.ClientNS.Output("curl", "-sS", "--max-time", "5", "--retry", "5", "--retry-all-errors", url); err != nil {
		t.Errorf("curl %s after the speaker restart: %v", url, err)
	} else if _, err := backend.Parse(body); err != nil {
		t.Error(err)
	}
}

// speakerPID finds the speaker process on node: it runs on the host
// network, so in the node's network namespace, as /speaker.
func speakerPID(t *testing.T, node *lab.Node) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "pids", node.NS.Name).Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		pid, _ := strconv.Atoi(f)
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); strings.HasPrefix(string(b), "/speaker\x00") {
			return pid
		}
	}
	t.Fatalf("no /speaker process in %s", node.NS.Name)
	return 0
}

// removeDeploy deletes what TestRealNodesBarelbPods applied: the
// manifest's objects but its Namespace (the lab's, shared), the memberlist
// Secret, the test's namespace and the CRDs (with every IPAddressPool and
// L2Advertisement), and waits until no barelb Pod is left.
func removeDeploy(t *testing.T, l *lab.Lab, crds, manifest string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var docs []string
	for _, d := range strings.Split(manifest, "\n---\n") {
		if !strings.Contains(d, "\nkind: Namespace\n") {
			docs = append(docs, d)
		}
	}
	for _, args := range [][]string{
		{"delete", "--ignore-not-found", "--wait=false", "-f", "-"},
		{"delete", "--ignore-not-found", "-n", lab.ConfigNamespace, "secret", "barelb-memberlist"},
		{"delete", "--ignore-not-found", "--wait=false", "namespace", "lb"},
		{"delete", "--ignore-not-found", "-f", crds},
	} {
		var out string
		var err error
		if args[len(args)-1] == "-" {
			out, err = l.KubectlStdin(ctx, strings.Join(docs, "\n---\n"), args...)
		} else {
			out, err = l.Kubectl(ctx, args...)
		}
		if err != nil {
			t.Errorf("clean up: %v: %s", err, out)
		}
	}
	check.Eventually(t, 90*time.Second, "barelb Pods of config/deploy gone", func() error {
		pods, err := l.Client.CoreV1().Pods(lab.ConfigNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return err
		}
		if n := len(pods.Items); n > 0 {
			return fmt.Errorf("%d Pods left, %s", n, describePod(&pods.Items[0]))
		}
		return nil
	})
}
