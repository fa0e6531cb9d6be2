package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestLBFamilies: barelb's controller gives an IPv4, an IPv6 and a
// dual-stack LoadBalancer Service addresses of the right families from one
// pool, a speaker announces them, and the client outside the cluster
// reaches all three backends through every LB IP (kube-proxy's
// LoadBalancer rules on the announcing node).
func TestLBFamilies(t *testing.T) {
	l := lbLab(t)
	defer timed("lb: IPv4, IPv6, dual-stack reachable")()
	const ns, pool = "lb-families", "e2e-lb-families"
	lbPool(t, l, pool, "198.18.1.170-198.18.1.172", "2001:db8:1::170-2001:db8:1::172")
	lbNamespace(t, l, ns, 3, "")
	applyYAML(t, l,
		lbServiceYAML(ns, "v4", pool, 80, nil, "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]")+"---\n"+
			lbServiceYAML(ns, "v6", pool, 80, nil, "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv6]")+"---\n"+
			lbServiceYAML(ns, "dual", pool, 80, nil, "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]"))
	pods := readyPods(t, l, ns, "app=web", 3)

	want := map[string][]bool{"v4": {true}, "v6": {false}, "dual": {true, false}} // Is4 per ingress
	var all []netip.Addr
	for _, name := range []string{"v4", "v6", "dual"} {
		ips := lbIPs(t, l, ns, name, len(want[name]))
		fams := map[bool]bool{}
		for _, ip := range ips {
			fams[ip.Is4()] = true
			if !lab.LANv4.Contains(ip) && !lab.LANv6.Contains(ip) {
				t.Errorf("%s got %s, outside the pool's LAN", name, ip)
			}
		}
		for _, is4 := range want[name] {
			if !fams[is4] {
				t.Errorf("Service %s got %v: no IPv4=%v address", name, ips, is4)
			}
		}
		// barelb elects every address of a Service together, so both
		// addresses of a dual-stack Service are announced by one node.
		var announcing []string
		check.Eventually(t, 30*time.Second, "ServiceL2Status for "+name, func() error {
			var err error
			announcing, err = l2Nodes(l, ns, name)
			if err == nil && len(announcing) != 1 {
				err = fmt.Errorf("announced by %v, want exactly one node", announcing)
			}
			return err
		})
		for _, ip := range ips {
			seen := backends(t, l.ClientNS, lab.URL(ip, 80), names(pods))
			t.Logf("%s: %s (ServiceL2Status nodes %v, neighbour %s), answers per Pod %v", name, ip, announcing, nodeWithMAC(l, neighMAC(l, ip)), seen)
			if who := nodeWithMAC(l, neighMAC(l, ip)); !slices.Contains(announcing, who) {
				t.Errorf("%s: the client sends %s to %s, not a node in ServiceL2Status %v", name, ip, who, announcing)
			}
		}
		all = append(all, ips...)
	}
	if d := duplicates(all); len(d) > 0 {
		t.Errorf("addresses given twice: %v", d)
	}
	oneAnswerer(t, l, all...)
}

// TestLBLocalPolicyAnnouncementMoves: with externalTrafficPolicy: Local
// only the node with the (single) backend announces the IP: the
// ServiceL2Status names it and the client's neighbour entry carries its
// LAN MAC. Moving the backend to another node (new nodeSelector, so the
// Deployment replaces the Pod there) moves the announcement with it, and
// the client follows.
func TestLBLocalPolicyAnnouncementMoves(t *testing.T) {
	l := lbLab(t)
	defer timed("lb: externalTrafficPolicy Local moves")()
	const ns, pool = "lb-local", "e2e-lb-local"
	lbPool(t, l, pool, "198.18.1.173-198.18.1.174")
	from, to := l.Nodes[0], l.Nodes[2]
	lbNamespace(t, l, ns, 1, "      nodeSelector: {kubernetes.io/hostname: "+from.Name+"}")
	applyYAML(t, l, lbServiceYAML(ns, "web", pool, 80, nil,
		"  externalTrafficPolicy: Local\n  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]"))
	pod := readyPods(t, l, ns, "app=web", 1)[0]
	ip := lbIPs(t, l, ns, "web", 1)[0]
	checkOneAnswererAtEnd(t, l, ip)

	announcedBy := func(want *lab.Node, pod string) {
		t.Helper()
		l2Node(t, l, ns, "web", func(n *lab.Node) error {
			if n != want {
				return fmt.Errorf("announced by %s, want %s (the only local endpoint)", n.Name, want.Name)
			}
			return nil
		})
		mac := nodeLANMAC(t, want)
		check.Eventually(t, 20*time.Second, "client reaches "+pod+" via "+want.Name+"'s MAC", func() error {
			r, err := lab.Get(context.Background(), l.ClientNS, lab.URL(ip, 80))
			if err != nil {
				return err
			}
			if r.PodName != pod || r.Client != lab.ClientIPv4.String() {
				return fmt.Errorf("answered by %s seeing client %s; want %s seeing %s", r.PodName, r.Client, pod, lab.ClientIPv4)
			}
			if got := neighMAC(l, ip); got != mac {
				return fmt.Errorf("client's neighbour entry for %s: %q (%s), want %s (%s)", ip, got, nodeWithMAC(l, got), mac, want.Name)
			}
			return nil
		})
		oneAnswerer(t, l, ip)
	}
	if pod.Spec.NodeName != from.Name {
		t.Fatalf("Pod on %s, want %s (nodeSelector)", pod.Spec.NodeName, from.Name)
	}
	announcedBy(from, pod.Name)
	t.Logf("%s announced by %s, the node of Pod %s", ip, from.Name, pod.Name)

	// Move the backend: the Deployment rolls the Pod over to the new node.
	patch := fmt.Sprintf(`{"spec":{"template":{"spec":{"nodeSelector":{"kubernetes.io/hostname":%q}}}}}`, to.Name)
	if _, err := l.Client.AppsV1().Deployments(ns).Patch(ctx(t), "web", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	var moved string
	check.Eventually(t, 60*time.Second, "the one backend on "+to.Name, func() error {
		list, err := l.Client.CoreV1().Pods(ns).List(context.Background(), metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			return err
		}
		if len(list.Items) != 1 || list.Items[0].Spec.NodeName != to.Name || !podReady(&list.Items[0]) {
			return fmt.Errorf("%d Pods, first on %q", len(list.Items), firstNode(list.Items))
		}
		moved = list.Items[0].Name
		return nil
	})
	announcedBy(to, moved)
	t.Logf("backend moved to %s: announcement and client followed in %.1fs", to.Name, time.Since(began).Seconds())
}

// duplicates returns the addresses that occur more than once in ips.
func duplicates(ips []netip.Addr) []netip.Addr {
	seen := map[netip.Addr]int{}
	var d []netip.Addr
	for _, ip := range ips {
		if seen[ip]++; seen[ip] == 2 {
			d = append(d, ip)
		}
	}
	return d
}
