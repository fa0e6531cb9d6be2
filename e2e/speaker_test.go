package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
)

// The layer 2 speaker tests run the real controller and speakers
// (make build) and look at the LAN from the outside client: arping,
// ndisc6, tcpdump and the client kernel's neighbour table.

// l2PoolName is this file's pool. autoAssign is off so it only serves
// Services that name it, whatever other tests do on the shared lab; its
// addresses (.160-.163) stay clear of the seed's .136-.139.
const l2PoolName = "e2e-l2"

// requireSpeaker returns the lab, skipping when barelb's binaries were not
// built (the lab then has no controller or speakers).
func requireSpeaker(t *testing.T) *lab.Lab {
	t.Helper()
	l := requireLab(t)
	if l.Controller == nil || l.Nodes[0].Speaker == nil {
		t.Skip("needs bin/controller and bin/speaker (make build)")
	}
	return l
}

// l2Config applies the pool and an L2Advertisement for it, removed when
// the test ends.
func l2Config(t *testing.T, l *lab.Lab) {
	t.Helper()
	applyYAML(t, l, fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  addresses: [198.18.1.160-198.18.1.163, "2001:db8:1::160-2001:db8:1::163"]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: L2Advertisement
metadata:
  name: %[1]s
  namespace: metallb-system
spec:
  ipAddressPools: [%[1]s]
`, l2PoolName))
	t.Cleanup(func() {
		_, _ = l.Kubectl(context.Background(), "delete", "-n", lab.ConfigNamespace, "l2advertisement/"+l2PoolName, "ipaddresspool/"+l2PoolName, "--wait")
	})
}

// l2Backends creates namespace ns with a Deployment "web" of n backends,
// deleted when the test ends.
func l2Backends(t *testing.T, l *lab.Lab, ns string, n int) []corev1.Pod {
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
`, ns, n))
	t.Cleanup(func() {
		_, _ = l.Kubectl(context.Background(), "delete", "namespace", ns, "--wait")
	})
	return readyPods(t, l, ns, "app=web", n)
}

// lbService creates a LoadBalancer Service ns/name for the web backends
// with an address from the test pool (spec lines appended), and returns
// its LoadBalancer IP once the controller assigned one.
func lbService(t *testing.T, l *lab.Lab, ns, name, spec string) netip.Addr {
	t.Helper()
	applyYAML(t, l, fmt.Sprintf(`apiVersion: v1
kind: Service
metadata:
  name: %s
  namespace: %s
  annotations:
    metallb.io/address-pool: %s
spec:
  type: LoadBalancer
  selector: {app: web}
  ports:
  - port: 80
    targetPort: 80
%s
`, name, ns, l2PoolName, spec))
	var ip netip.Addr
	check.Eventually(t, 30*time.Second, "LoadBalancer IP for "+ns+"/"+name, func() error {
		svc, err := l.Client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Errorf("no ingress yet")
		}
		ip, err = netip.ParseAddr(svc.Status.LoadBalancer.Ingress[0].IP)
		return err
	})
	return ip
}

var (
	crOnce   sync.Once
	crClient client.Client
	crErr    error
)

// cr is a controller-runtime client for barelb's objects.
func cr(t *testing.T, l *lab.Lab) client.Client {
	t.Helper()
	crOnce.Do(func() {
		crClient, crErr = client.New(l.RESTConfig, client.Options{Scheme: crkube.Scheme()})
	})
	if crErr != nil {
		t.Fatal(crErr)
	}
	return crClient
}

// l2Statuses lists the ServiceL2Status objects of Service ns/name.
func l2Statuses(t *testing.T, l *lab.Lab, ns, name string) ([]v1beta1.ServiceL2Status, error) {
	var list v1beta1.ServiceL2StatusList
	err := cr(t, l).List(context.Background(), &list, client.InNamespace(lab.ConfigNamespace),
		client.MatchingLabels{"metallb.io/service-namespace": ns, "metallb.io/service-name": name})
	return list.Items, err
}

// announcer waits until exactly one ServiceL2Status exists for ns/name and
// ok accepts its node, and returns that node.
func announcer(t *testing.T, l *lab.Lab, ns, name string, timeout time.Duration, ok func(*lab.Node) error) *lab.Node {
	t.Helper()
	var n *lab.Node
	check.Eventually(t, timeout, "ServiceL2Status of "+ns+"/"+name, func() error {
		items, err := l2Statuses(t, l, ns, name)
		if err != nil {
			return err
		}
		var nodes []string
		for _, it := range items {
			nodes = append(nodes, it.Status.Node)
		}
		if len(items) != 1 {
			return fmt.Errorf("%d statuses, naming %v; want one", len(items), nodes)
		}
		st := items[0].Status
		if n = l.Node(st.Node); n == nil {
			return fmt.Errorf("status names %q, not a lab node", st.Node)
		}
		if !slices.ContainsFunc(st.Interfaces, func(i v1beta1.InterfaceInfo) bool { return i.Name == n.LANDev }) {
			return fmt.Errorf("status of %s lists interfaces %v, want %s", st.Node, st.Interfaces, n.LANDev)
		}
		if ok != nil {
			return ok(n)
		}
		return nil
	})
	return n
}

func lanMAC(t *testing.T, n *lab.Node) string {
	t.Helper()
	m, err := n.LANMAC()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var macRE = regexp.MustCompile(`(?i)([0-9a-f]{2}(:[0-9a-f]{2}){5})`)

// clientARP sends count broadcast ARP requests for ip from the client and
// returns the MAC of every reply, duplicates included.
func clientARP(t *testing.T, l *lab.Lab, count int, ip netip.Addr) []string {
	t.Helper()
	out, _ := l.ClientNS.Output("arping", "-c", fmt.Sprint(count), "-W", "0.5", "-i", "eth0", ip.String())
	if !strings.Contains(out, fmt.Sprintf("%d packets transmitted", count)) {
		t.Fatalf("arping did not run as expected:\n%s", out)
	}
	var macs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "bytes from") {
			macs = append(macs, strings.ToLower(macRE.FindString(line)))
		}
	}
	return macs
}

// clientNDP sends one Neighbor Solicitation for ip from the client, waits
// for every answer, and returns the link-layer addresses advertised.
func clientNDP(t *testing.T, l *lab.Lab, ip netip.Addr) []string {
	t.Helper()
	out, _ := l.ClientNS.Output("ndisc6", "-m", "-n", "-r", "1", "-w", "800", ip.String(), "eth0")
	if !strings.Contains(out, "Soliciting "+ip.String()) {
		t.Fatalf("ndisc6 did not run as expected:\n%s", out)
	}
	var macs []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "Target link-layer address") {
			macs = append(macs, strings.ToLower(macRE.FindString(line)))
		}
	}
	return macs
}

// clientNeigh returns the client kernel's cached MAC for ip ("" if none).
// Reading the table sends nothing.
func clientNeigh(t *testing.T, l *lab.Lab, ip netip.Addr) string {
	t.Helper()
	out, err := l.ClientNS.Output("ip", "neigh", "show", ip.String(), "dev", "eth0")
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(out)
	if i := slices.Index(f, "lladdr"); i >= 0 && i+1 < len(f) {
		return strings.ToLower(f[i+1])
	}
	return ""
}

// onlyFrom checks that replies are exactly want answers, all from mac.
func onlyFrom(l *lab.Lab, replies []string, want int, mac string) error {
	if len(replies) == want && !slices.ContainsFunc(replies, func(m string) bool { return m != mac }) {
		return nil
	}
	var who []string
	for _, m := range replies {
		if n := l.NodeByMAC(m); n != nil {
			who = append(who, n.Name+"("+m+")")
		} else {
			who = append(who, m)
		}
	}
	return fmt.Errorf("%d replies from %v, want %d, all from %s", len(replies), who, want, mac)
}

// TestL2AnswersOnlyFromAnnouncer: for an IPv4 and an IPv6 LoadBalancer IP,
// the client's ARP requests and Neighbor Solicitations are answered with
// the MAC of the node its ServiceL2Status names, and by no other node;
// the client then reaches the Service through that node.
func TestL2AnswersOnlyFromAnnouncer(t *testing.T) {
	l := requireSpeaker(t)
	defer timed("l2: ARP/NDP answered by the announcer only")()
	l2Config(t, l)
	const ns = "l2-answer"
	l2Backends(t, l, ns, 3)

	t.Run("arp", func(t *testing.T) {
		ip := lbService(t, l, ns, "web4", "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]")
		n := announcer(t, l, ns, "web4", 30*time.Second, nil)
		mac := lanMAC(t, n)
		check.Eventually(t, 10*time.Second, "ARP for "+ip.String()+" answered by "+n.Name+" only", func() error {
			return onlyFrom(l, clientARP(t, l, 3, ip), 3, mac)
		})
		r := get(t, l.ClientNS, lab.URL(ip, 80))
		if got := clientNeigh(t, l, ip); got != mac {
			t.Errorf("client's neighbour entry for %s is %q, want %s (%s)", ip, got, mac, n.Name)
		}
		t.Logf("%s announced by %s (%s); answered by Pod %s", ip, n.Name, mac, r.PodName)
	})

	t.Run("ndp", func(t *testing.T) {
		ip := lbService(t, l, ns, "web6", "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv6]")
		if !ip.Is6() {
			t.Fatalf("IPv6 Service got %s", ip)
		}
		n := announcer(t, l, ns, "web6", 30*time.Second, nil)
		mac := lanMAC(t, n)
		check.Eventually(t, 10*time.Second, "NDP for "+ip.String()+" answered by "+n.Name+" only", func() error {
			return onlyFrom(l, clientNDP(t, l, ip), 1, mac)
		})
		r := get(t, l.ClientNS, lab.URL(ip, 80))
		if got := clientNeigh(t, l, ip); got != mac {
			t.Errorf("client's neighbour entry for %s is %q, want %s (%s)", ip, got, mac, n.Name)
		}
		t.Logf("%s announced by %s (%s); answered by Pod %s", ip, n.Name, mac, r.PodName)
	})
}
