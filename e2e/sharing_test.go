package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestLBSharedIP: two Services with the same metallb.io/allow-shared-ip key
// asking for the same address on different ports both get it, both are
// reachable from the client through it, and one node announces it for both.
func TestLBSharedIP(t *testing.T) {
	l := lbLab(t)
	defer timed("lb: two Services share one IP")()
	const ns, pool = "lb-shared", "e2e-lb-shared"
	lbPool(t, l, pool, "198.18.1.175-198.18.1.176")
	lbNamespace(t, l, ns, 2, "")
	shared := map[string]string{"metallb.io/allow-shared-ip": "web-key", "metallb.io/loadBalancerIPs": "198.18.1.176"}
	v4 := "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]"
	applyYAML(t, l, lbServiceYAML(ns, "web-80", pool, 80, shared, v4)+"---\n"+lbServiceYAML(ns, "web-8080", pool, 8080, shared, v4))
	pods := readyPods(t, l, ns, "app=web", 2)
	a, b := lbIPs(t, l, ns, "web-80", 1)[0], lbIPs(t, l, ns, "web-8080", 1)[0]
	if a != b || a != addr("198.18.1.176") {
		t.Fatalf("web-80 got %s, web-8080 got %s; want both 198.18.1.176", a, b)
	}
	checkOneAnswererAtEnd(t, l, a)
	n1 := l2Node(t, l, ns, "web-80", nil)
	n2 := l2Node(t, l, ns, "web-8080", nil)
	if n1 != n2 {
		t.Errorf("shared %s announced by %s for web-80 and by %s for web-8080, want one node", a, n1.Name, n2.Name)
	}
	for _, port := range []int{80, 8080} {
		seen := backends(t, l.ClientNS, lab.URL(a, port), names(pods))
		t.Logf("%s: answers per Pod %v", lab.URL(a, port), seen)
	}
	mac := nodeLANMAC(t, n1)
	check.Eventually(t, 10*time.Second, "client's neighbour entry names "+n1.Name, func() error {
		if got := neighMAC(l, a); got != mac {
			return fmt.Errorf("neighbour entry %q (%s), want %s (%s)", got, nodeWithMAC(l, got), mac, n1.Name)
		}
		return nil
	})
	oneAnswerer(t, l, a)
}
