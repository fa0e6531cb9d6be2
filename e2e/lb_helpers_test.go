package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// Helpers for the LoadBalancer tests with barelb's real controller and
// speakers (lb_test.go, sharing_test.go, churn_test.go,
// apiserver_outage_test.go). Each test gets its own IPAddressPool with
// autoAssign off, so it only serves Services that name it and the shared
// lab's other tests never see an address from it. The ranges stay in
// 198.18.1.170-198.18.1.199 and 2001:db8:1::170-2001:db8:1::199, clear of
// the seed's .136-.139, the stand-in's .140 and the speaker tests' .160s.

// lbLab returns the shared lab, skipping when barelb's binaries were not
// built (the lab then runs no controller or speakers).
func lbLab(t *testing.T) *lab.Lab {
	t.Helper()
	l := requireLab(t)
	if l.Controller == nil || l.Nodes[0].Speaker == nil {
		t.Skip("needs bin/controller and bin/speaker (make build)")
	}
	return l
}

// lbPool applies an IPAddressPool name (autoAssign off) with addrs and an
// L2Advertisement for it; both are removed when the test ends.
func lbPool(t *testing.T, l *lab.Lab, name string, addrs ...string) {
	t.Helper()
	q := make([]string, len(addrs))
	for i, a := range addrs {
		q[i] = fmt.Sprintf("%q", a)
	}
	applyYAML(t, l, fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  addresses: [%[2]s]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  ipAddressPools: [%[1]s]
`, name, strings.Join(q, ", ")))
	t.Cleanup(func() {
		_, _ = l.Kubectl(context.Background(), "delete", "-n", lab.ConfigNamespace,
			"l2advertisement/"+name, "ipaddresspool/"+name, "--wait=false")
	})
}

// lbNamespace creates namespace ns with a Deployment "web" of n backends
// (podSpec lines appended to the Pod spec, e.g. a nodeSelector), deleted
// when the test ends.
func lbNamespace(t *testing.T, l *lab.Lab, ns string, n int, podSpec string) {
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
%[3]s
`, ns, n, podSpec))
	t.Cleanup(func() {
		// Wait for the Pods to go: the lab schedules by Pod count, and
		// tests after this one expect an empty cluster (one seed replica
		// per node).
		_, _ = l.Kubectl(context.Background(), "delete", "namespace", ns, "--wait", "--timeout=60s")
	})
}

// lbServiceYAML is a LoadBalancer Service ns/name for the "web" backends
// asking pool for its address; extra annotations and spec lines are added.
func lbServiceYAML(ns, name, pool string, port int, annotations map[string]string, spec string) string {
	var ann strings.Builder
	keys := make([]string, 0, len(annotations))
	for k := range annotations {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&ann, "    %s: %q\n", k, annotations[k])
	}
	return fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations:
    metallb.io/address-pool: %s
%s
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - port: %d
    targetPort: 80
%s
`, name, ns, pool, strings.TrimRight(ann.String(), "\n"), port, spec)
}

// lbIPs waits until Service ns/name has n LoadBalancer ingress IPs and
// returns them.
func lbIPs(t *testing.T, l *lab.Lab, ns, name string, n int) []netip.Addr {
	t.Helper()
	return lbIPsWithin(t, l, ns, name, n, 30*time.Second)
}

// lbIPsWithin is lbIPs with its own deadline.
func lbIPsWithin(t *testing.T, l *lab.Lab, ns, name string, n int, timeout time.Duration) []netip.Addr {
	t.Helper()
	var ips []netip.Addr
	check.Eventually(t, timeout, fmt.Sprintf("%d LoadBalancer IPs for %s/%s", n, ns, name), func() error {
		svc, err := l.Client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		ips = ingressIPs(svc)
		if len(ips) != n {
			return fmt.Errorf("ingress %v", svc.Status.LoadBalancer.Ingress)
		}
		return nil
	})
	return ips
}

func ingressIPs(svc *corev1.Service) []netip.Addr {
	var ips []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			ips = append(ips, a)
		}
	}
	return ips
}

// l2Nodes lists the nodes whose ServiceL2Status says they announce ns/name.
func l2Nodes(l *lab.Lab, ns, name string) ([]string, error) {
	out, err := l.Kubectl(context.Background(), "get", "servicel2statuses", "-n", lab.ConfigNamespace,
		"-l", "metallb.io/service-namespace="+ns+",metallb.io/service-name="+name,
		"-o", "jsonpath={.items[*].status.node}")
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, out)
	}
	return strings.Fields(out), nil
}

// l2Node waits until exactly one ServiceL2Status names the node announcing
// ns/name and ok accepts it, and returns that node.
func l2Node(t *testing.T, l *lab.Lab, ns, name string, ok func(*lab.Node) error) *lab.Node {
	t.Helper()
	var n *lab.Node
	check.Eventually(t, 30*time.Second, "one node announcing "+ns+"/"+name, func() error {
		nodes, err := l2Nodes(l, ns, name)
		if err != nil {
			return err
		}
		if len(nodes) != 1 {
			return fmt.Errorf("ServiceL2Status nodes %v, want exactly one", nodes)
		}
		if n = l.Node(nodes[0]); n == nil {
			return fmt.Errorf("unknown node %q", nodes[0])
		}
		if ok != nil {
			return ok(n)
		}
		return nil
	})
	return n
}

// nodeLANMAC is the node's LAN interface's MAC, lower case.
func nodeLANMAC(t *testing.T, n *lab.Node) string {
	t.Helper()
	m, err := n.NS.MAC(n.LANDev)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ToLower(m)
}

// nodeWithMAC is the lab node whose LAN MAC is mac, or "?" and mac.
func nodeWithMAC(l *lab.Lab, mac string) string {
	for _, n := range l.Nodes {
		if m, err := n.NS.MAC(n.LANDev); err == nil && strings.EqualFold(m, mac) {
			return n.Name
		}
	}
	return "?" + mac
}

// neighMAC is the MAC in the client's neighbour entry for ip ("" if none).
func neighMAC(l *lab.Lab, ip netip.Addr) string {
	out, _ := exec.Command("ip", "netns", "exec", l.ClientNS.Name, "ip", "neigh", "show", ip.String(), "dev", "eth0").Output()
	f := strings.Fields(string(out))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "lladdr" {
			return strings.ToLower(f[i+1])
		}
	}
	return ""
}

var anyMAC = regexp.MustCompile(`(?i)\b([0-9a-f]{2}(?::[0-9a-f]{2}){5})\b`)

// repliers asks the LAN who has ip from the client, as a host deciding
// where to send the packets would: arping (ARP) for IPv4, ndisc6 (NDP
// neighbour solicitation, every reply) for IPv6. It returns the replying
// MACs, one entry per reply, lower case.
func repliers(l *lab.Lab, ip netip.Addr) ([]string, error) {
	var argv []string
	if ip.Is4() {
		argv = []string{"arping", "-c", "3", "-w", "4", "-I", "eth0", ip.String()}
	} else {
		argv = []string{"ndisc6", "-m", "-n", "-r", "3", "-w", "1000", ip.String(), "eth0"}
	}
	out, err := exec.Command("ip", append([]string{"netns", "exec", l.ClientNS.Name}, argv...)...).CombinedOutput()
	var macs []string
	for _, line := range strings.Split(string(out), "\n") {
		// Habets' arping prints "60 bytes from MAC (IP)", iputils'
		// "Unicast reply from IP [MAC]".
		if ip.Is4() && !strings.Contains(line, "bytes from") && !strings.Contains(line, "reply from") {
			continue
		}
		if ip.Is6() && !strings.Contains(line, "link-layer address") {
			continue
		}
		if m := anyMAC.FindString(line); m != "" {
			macs = append(macs, strings.ToLower(m))
		}
	}
	if len(macs) == 0 {
		return nil, fmt.Errorf("%s: no reply (%v): %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return macs, nil
}

// oneAnswerer asserts, once announcements have settled, that exactly one
// node answers ARP/NDP for each ip: every reply the client gets carries the
// same MAC. It polls (up to 15s) for the answers to settle and fails with
// the nodes that answered.
func oneAnswerer(t *testing.T, l *lab.Lab, ips ...netip.Addr) {
	t.Helper()
	if len(ips) == 0 {
		return
	}
	check.Eventually(t, 15*time.Second, fmt.Sprintf("exactly one node answering for each of %v", ips), func() error {
		// All addresses at once: each probe takes seconds.
		errs := make([]error, len(ips))
		var wg sync.WaitGroup
		for i, ip := range ips {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = singleAnswerer(l, ip)
			}()
		}
		wg.Wait()
		return errors.Join(errs...)
	})
}

// singleAnswerer probes ip once and says who answered if not exactly one.
func singleAnswerer(l *lab.Lab, ip netip.Addr) error {
	macs, err := repliers(l, ip)
	if err != nil {
		return err
	}
	distinct := map[string]bool{}
	for _, m := range macs {
		distinct[m] = true
	}
	if len(distinct) != 1 {
		var who []string
		for m := range distinct {
			who = append(who, nodeWithMAC(l, m))
		}
		sort.Strings(who)
		return fmt.Errorf("%s: %d replies from %d nodes %v", ip, len(macs), len(distinct), who)
	}
	return nil
}

// checkOneAnswererAtEnd registers oneAnswerer for ips to run when the test
// ends, before the cleanups registered earlier (namespace, pool) remove
// the Services: the check every LoadBalancer test ends with.
func checkOneAnswererAtEnd(t *testing.T, l *lab.Lab, ips ...netip.Addr) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			return
		}
		oneAnswerer(t, l, ips...)
	})
}

// firstNode is the node of the first Pod, for messages.
func firstNode(pods []corev1.Pod) string {
	if len(pods) == 0 {
		return ""
	}
	return pods[0].Spec.NodeName
}
