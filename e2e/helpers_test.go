package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/backend"
	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// kubectl runs kubectl in the lab and fails the test on error.
func kubectl(t *testing.T, l *lab.Lab, args ...string) string {
	t.Helper()
	out, err := l.Kubectl(ctx(t), args...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return out
}

// seedFile is a manifest of seed 002 under testdata.
func seedFile(name string) string { return filepath.Join("testdata", "seed002", name) }

// applyYAML applies manifest text and deletes it when the test ends.
func applyYAML(t *testing.T, l *lab.Lab, yaml string) {
	t.Helper()
	if out, err := l.Apply(ctx(t), yaml); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
}

// readyPods waits until n Pods matching selector in ns are Running and
// Ready with Pod IPs, and returns them.
func readyPods(t *testing.T, l *lab.Lab, ns, selector string, n int) []corev1.Pod {
	t.Helper()
	var pods []corev1.Pod
	check.Eventually(t, 60*time.Second, fmt.Sprintf("%d ready Pods %s in %s", n, selector, ns), func() error {
		list, err := l.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: selector})
		if err != nil {
			return err
		}
		pods = pods[:0]
		for _, p := range list.Items {
			if p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning && podReady(&p) && len(p.Status.PodIPs) == 2 {
				pods = append(pods, p)
			}
		}
		if len(pods) != n || len(list.Items) != n {
			return fmt.Errorf("%d of %d Pods ready, want %d", len(pods), len(list.Items), n)
		}
		return nil
	})
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	return pods
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// service waits until the Service exists with ClusterIPs (and NodePorts
// where its type has them) and returns it.
func service(t *testing.T, l *lab.Lab, ns, name string) *corev1.Service {
	t.Helper()
	var svc *corev1.Service
	check.Eventually(t, 30*time.Second, "Service "+ns+"/"+name, func() error {
		var err error
		svc, err = l.Client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(svc.Spec.ClusterIPs) == 0 {
			return fmt.Errorf("no ClusterIP yet")
		}
		return nil
	})
	return svc
}

// backends curls url from ns until replies came from every Pod in want
// (by name), and returns how many answers each Pod gave. Requests are new
// connections, so kube-proxy picks afresh each time.
func backends(t *testing.T, from *netlab.Namespace, url string, want []string) map[string]int {
	t.Helper()
	seen := map[string]int{}
	var last error
	missing := func() []string {
		var m []string
		for _, w := range want {
			if seen[w] == 0 {
				m = append(m, w)
			}
		}
		return m
	}
	deadline := time.Now().Add(60 * time.Second)
	for tries := 0; len(missing()) > 0 && time.Now().Before(deadline) && tries < 200; tries++ {
		r, err := lab.Get(context.Background(), from, url)
		if err != nil {
			last = err
			continue
		}
		seen[r.PodName]++
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("curl %s from %s: no answer from %v; answers %v; last error: %v", url, from.Name, m, seen, last)
	}
	return seen
}

// get curls url from ns until it answers (kube-proxy may still be
// programming the Service) and returns the reply.
func get(t *testing.T, from *netlab.Namespace, url string) backend.Reply {
	t.Helper()
	var r backend.Reply
	check.Eventually(t, 30*time.Second, "curl "+url+" from "+from.Name, func() error {
		var err error
		r, err = lab.Get(context.Background(), from, url)
		return err
	})
	return r
}

// unreachable asserts that url does not answer from ns (a few tries, each
// with curl's own 2s connect timeout).
func unreachable(t *testing.T, from *netlab.Namespace, url string) {
	t.Helper()
	for i := 0; i < 2; i++ {
		if body, err := lab.Curl(context.Background(), from, url); err == nil {
			t.Fatalf("curl %s from %s answered, want no answer: %q", url, from.Name, body)
		}
	}
}

func names(pods []corev1.Pod) []string {
	var n []string
	for _, p := range pods {
		n = append(n, p.Name)
	}
	return n
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// sandboxExists reports whether the Pod's network namespace exists.
func sandboxExists(l *lab.Lab, p *corev1.Pod) bool {
	_, err := os.Stat(filepath.Join("/run/netns", fmt.Sprintf("%s-pod-%s-%s", l.Tag, p.Namespace, p.Name)))
	return err == nil
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ")
}
