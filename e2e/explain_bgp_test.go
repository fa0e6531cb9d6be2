package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestExplainBGPOnLab: on the BGP lab (three speakers, the FRR router),
// every speaker publishes its per-IP BGP verdicts and `kubectl barelb
// explain svc` shows them: a Service in the router's pool is advertised by
// each node to peer tor; one in a pool whose only advertisement names a
// peer nobody answers (a free LAN address) is advertised by no node, each
// saying its session to that peer is not established and why; status
// shows every node's sessions.
func TestExplainBGPOnLab(t *testing.T) {
	l := startBGPLab(t)
	defer timed("explain: BGP verdicts per node")()
	const downPool, downIP, nowhere = "198.18.101.0/24", "198.18.101.5", "198.18.1.240"
	applyYAML(t, l, bgpConfig()+fmt.Sprintf(`---
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata: {name: nowhere, namespace: %[1]s}
spec:
  myASN: %[2]d
  peerASN: %[3]d
  peerAddress: %[4]s
  connectTime: 1s
---
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: down-pool, namespace: %[1]s}
spec:
  addresses: [%[5]s]
  autoAssign: false
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: only-nowhere, namespace: %[1]s}
spec:
  ipAddressPools: [down-pool]
  peers: [nowhere]
`, lab.ConfigNamespace, lab.NodeASN, lab.RouterASN, nowhere, downPool))
	plugin := pluginOn(t, l)
	webApp(t, l, "bgp-explain", 1, "  type: LoadBalancer")
	webApp(t, l, "bgp-explain-down", 1, "  type: LoadBalancer\n  loadBalancerIP: "+downIP)
	ip := lbIP(t, l, "bgp-explain", "web")
	waitNexthops(t, l, host(ip), nodeIPs(l.Nodes), 60*time.Second)

	var out string
	check.Eventually(t, 30*time.Second, "every node advertising to tor in explain", func() error {
		var err error
		if out, err = plugin("-n", "bgp-explain", "explain", "svc", "web"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, n := range l.Nodes {
			if line := lineWith(out, " "+n.Name+" "); !strings.Contains(line, " bgp ") || !strings.Contains(line, "to peers tor") {
				return fmt.Errorf("node %s: %q\n%s", n.Name, line, out)
			}
		}
		return nil
	})
	t.Logf("explain svc web:\n%s", out)

	check.Eventually(t, 30*time.Second, "every node's reason for the unadvertised Service", func() error {
		var err error
		if out, err = plugin("-n", "bgp-explain-down", "explain", "svc", "web"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if !strings.Contains(out, downIP+" ") {
			return fmt.Errorf("no address yet:\n%s", out)
		}
		for _, n := range l.Nodes {
			line := lineWith(out, " "+n.Name+" ")
			if !strings.Contains(line, "no bgp") || !strings.Contains(line, "PeerNotEstablished: no established session to nowhere (nowhere "+nowhere+":179") {
				return fmt.Errorf("node %s: %q\n%s", n.Name, line, out)
			}
		}
		return nil
	})
	t.Logf("explain svc web (down pool):\n%s", out)

	st, err := plugin("status")
	t.Logf("status:\n%s", st)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range l.Nodes {
		var tor, down bool
		for _, line := range strings.Split(st, "\n") {
			f := strings.Fields(line)
			if len(f) < 4 || f[0] != n.Name || f[2] != "Session" {
				continue
			}
			tor = tor || f[1] == "tor" && f[3] == "Established"
			down = down || f[1] == "nowhere" && f[3] == "NotEstablished"
		}
		if !tor || !down {
			t.Errorf("status: node %s sessions tor established %v, nowhere not established %v", n.Name, tor, down)
		}
	}
}
