package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/testsupport/check"
)

// TestL2AddressConflict: a host on the LAN (the client) already uses a
// pool address when a Service gets it. No speaker announces it (no
// ServiceL2Status), the Service gets an AddressConflict Warning naming
// the host's MAC, and once the host lets the address go the elected
// speaker announces it by itself, within Release×Interval (3 × 10 s).
func TestL2AddressConflict(t *testing.T) {
	l := requireSpeaker(t)
	defer timed("l2: address conflict with a host on the LAN")()
	l2Config(t, l)
	const ns, name, ip = "l2-conflict", "web", "198.18.1.163"
	l2Backends(t, l, ns, 1)
	rogue, err := l.ClientNS.MAC("eth0")
	check.Must(t, err)
	rogue = strings.ToLower(rogue)
	check.Must(t, l.ClientNS.AddAddr("eth0", ip+"/32"))
	held := true
	release := func() {
		if held {
			held = false
			check.Must(t, l.ClientNS.Exec("ip", "addr", "del", ip+"/32", "dev", "eth0"))
		}
	}
	defer release()

	applyYAML(t, l, lbServiceYAML(ns, name, l2PoolName, 80, map[string]string{"metallb.io/loadBalancerIPs": ip}, ""))
	check.Eventually(t, 30*time.Second, "an AddressConflict Event naming "+rogue, func() error {
		evs, err := l.Client.CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{FieldSelector: "involvedObject.name=" + name})
		if err != nil {
			return err
		}
		var seen []string
		for _, e := range evs.Items {
			if e.Reason == "AddressConflict" && strings.Contains(strings.ToLower(e.Message), rogue) && strings.Contains(e.Message, ip) {
				t.Logf("Event: %s %s: %s", e.Type, e.Reason, e.Message)
				return nil
			}
			seen = append(seen, e.Reason+": "+e.Message)
		}
		return fmt.Errorf("events %q", seen)
	})
	if nodes, err := l2Nodes(l, ns, name); err != nil || len(nodes) != 0 {
		t.Fatalf("ServiceL2Status names %v (err %v) while a host holds %s", nodes, err, ip)
	}

	release()
	began := time.Now()
	n := announcer(t, l, ns, name, 60*time.Second, nil)
	t.Logf("host let %s go; %s announces it after %v", ip, n.Name, time.Since(began).Round(100*time.Millisecond))
}
