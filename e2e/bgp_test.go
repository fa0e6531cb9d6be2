package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
)

// The BGP tests run on a lab of their own, with the FRR router and the
// outside client behind it (lab.Options.Router): they kill and stop
// speakers, which the shared lab's other tests must not see. Set
// BARELB_E2E_BGP=1 to run only them (the shared lab is then not started);
// BARELB_E2E=1 or CI runs them with everything else.

// bgpPool is the BGP-only pool: not on the node LAN, so nothing but a
// route learned over BGP leads to it.
const bgpPool = "198.18.100.0/24"

func bgpEnabled() bool { return enabled() || os.Getenv("BARELB_E2E_BGP") != "" }

// startBGPLab starts a three-node lab with the router and barelb's
// binaries, closed when the test ends (also shortly before go test's
// -timeout would end the binary).
func startBGPLab(t *testing.T) *lab.Lab {
	t.Helper()
	if !bgpEnabled() {
		t.Skip("end-to-end lab tests: set BARELB_E2E=1 or BARELB_E2E_BGP=1 (CI runs them)")
	}
	netlab.RequireRoot(t)
	root, err := lab.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctrl, spk := binary(root, "BARELB_CONTROLLER", "controller"), binary(root, "BARELB_SPEAKER", "speaker")
	if ctrl == "" || spk == "" {
		t.Fatal("BGP e2e needs bin/controller and bin/speaker: run make build")
	}
	opts := lab.Options{
		Prefix:     "bgp",
		Router:     true,
		Log:        os.Stdout,
		Manifests:  []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")},
		Controller: &lab.Program{Path: ctrl, Args: []string{"--leader-elect=false"}},
		Speaker:    &lab.Program{Path: spk, Args: lab.SpeakerArgs()},
	}
	l, err := lab.Start(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	closeLab := func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab teardown: %v", err)
		}
		if left := lab.LeftoverNamespaces(l.Tag); len(left) > 0 {
			t.Errorf("teardown left namespaces behind: %v", left)
		}
	}
	if d, ok := t.Deadline(); ok {
		watchdog := time.AfterFunc(time.Until(d)-20*time.Second, func() {
			fmt.Fprintln(os.Stderr, "e2e: the test timeout is near; tearing the BGP lab down")
			dumpLogs(l)
			fmt.Fprintln(os.Stderr, l.Router.FRR.Logs())
			_ = l.Close()
			os.Exit(1)
		})
		t.Cleanup(func() { watchdog.Stop() })
	}
	t.Cleanup(func() {
		if denied := l.MissingGrants(context.Background()); len(denied) > 0 {
			t.Errorf("the API server refused barelb requests; config/rbac lacks a grant:\n  %s", strings.Join(denied, "\n  "))
		}
		if t.Failed() {
			dumpLogs(l)
			if out, err := l.Router.FRR.Vtysh("show bgp summary", "show ip route bgp"); err == nil {
				fmt.Printf("---- router:\n%s\n", out)
			}
			fmt.Println(l.Router.FRR.Logs())
		}
		closeLab()
	})
	record("BGP lab up", l.UpIn)
	return l
}

// bgpConfig is the BGP configuration the tests use: one BGPPeer (the lab
// router) with a short hold time, the BGP-only pool and its advertisement.
func bgpConfig() string {
	return labPeer("tor", lab.RouterIPv4, "") + labPool("bgp-pool", "bgp-adv", bgpPool)
}

// labPool is an IPAddressPool with addrs and a BGPAdvertisement of it.
func labPool(pool, adv string, addrs ...string) string {
	return fmt.Sprintf(`apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata: {name: %[2]s, namespace: %[1]s}
spec:
  addresses: [%[4]s]
---
apiVersion: metallb.io/v1beta1
kind: BGPAdvertisement
metadata: {name: %[3]s, namespace: %[1]s}
spec:
  ipAddressPools: [%[2]s]
`, lab.ConfigNamespace, pool, adv, strings.Join(addrs, ", "))
}

// routeNexthops returns the next hops zebra installed in the router's
// kernel for prefix (sorted), none when there is no BGP route.
func routeNexthops(l *lab.Lab, p netip.Prefix) ([]string, error) {
	e, err := l.Router.FRR.RIBRoute(p, "bgp")
	if err != nil || e == nil {
		return nil, err
	}
	nh := e.FIBNexthops()
	sort.Strings(nh)
	return nh, nil
}

func nodeIPs(ns []*lab.Node) []string {
	var ips []string
	for _, n := range ns {
		ips = append(ips, n.IPv4.String())
	}
	sort.Strings(ips)
	return ips
}

// waitNexthops waits until the router's route to p has exactly want as
// next hops (none: no route) and returns how long that took.
func waitNexthops(t *testing.T, l *lab.Lab, p netip.Prefix, want []string, timeout time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	check.Eventually(t, timeout, fmt.Sprintf("router route %s via %v", p, want), func() error {
		got, err := routeNexthops(l, p)
		if err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("next hops %v", got)
		}
		return nil
	})
	return time.Since(began)
}

// lbIP waits for the Service's IPv4 ingress address.
func lbIP(t *testing.T, l *lab.Lab, ns, name string) netip.Addr {
	t.Helper()
	var ip netip.Addr
	check.Eventually(t, 30*time.Second, "LoadBalancer IP of "+ns+"/"+name, func() error {
		svc, err := l.Client.CoreV1().Services(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if a, err := netip.ParseAddr(in.IP); err == nil && a.Is4() {
				ip = a
				return nil
			}
		}
		return fmt.Errorf("no ingress yet: %+v", svc.Status.LoadBalancer)
	})
	if !netip.MustParsePrefix(bgpPool).Contains(ip) {
		t.Fatalf("%s/%s got %s, outside the BGP pool %s", ns, name, ip, bgpPool)
	}
	return ip
}

func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a, a.BitLen()) }

// TestBGPWithRouter: three speakers peer with the lab's FRR router, which
// learns every LoadBalancer IP with one next hop per node that should
// carry it, and the client behind the router reaches the Service through
// ECMP; externalTrafficPolicy Local advertises only from nodes with a
// ready endpoint; routes go away with the Service, a killed or stopped
// (SIGTERM) speaker's at once, a frozen speaker's when the hold time expires.
func TestBGPWithRouter(t *testing.T) {
	l := startBGPLab(t)
	defer timed("BGP with the FRR router")()
	applyYAML(t, l, bgpConfig())
	all := nodeIPs(l.Nodes)

	t.Run("sessions", func(t *testing.T) {
		check.Eventually(t, 60*time.Second, "BGP sessions from every speaker", func() error {
			sum, err := l.Router.FRR.Summary()
			if err != nil {
				return err
			}
			for _, ip := range all {
				if st := sum["ipv4Unicast"][ip].State; st != "Established" {
					return fmt.Errorf("session with %s: %q", ip, st)
				}
			}
			return nil
		})
	})
	if t.Failed() {
		return
	}
	t.Run("session metrics on the speaker's /metrics", func(t *testing.T) {
		// GoBGP runs in the speaker's BGP process (cmd/speaker-bgp): its
		// series reach Prometheus through the speaker's endpoint.
		n := l.Nodes[0]
		want := `metallb_bgp_session_up{peer="` + lab.RouterIPv4.String() + `:179"} 1`
		check.Eventually(t, 15*time.Second, want+" on "+n.Name, func() error {
			out, err := n.NS.Output("curl", "-s", "--max-time", "5", "http://127.0.0.1:7474/metrics")
			if err != nil {
				return err
			}
			if !strings.Contains(out, want) {
				return fmt.Errorf("not among %d lines of metallb_bgp_*", strings.Count(out, "\nmetallb_bgp_"))
			}
			return nil
		})
	})

	// Three backends and a Cluster-policy Service.
	webApp(t, l, "bgp-web", 3, "  type: LoadBalancer\n  externalTrafficPolicy: Cluster")
	pods := readyPods(t, l, "bgp-web", "app=web", 3)
	ip := lbIP(t, l, "bgp-web", "web")

	t.Run("ECMP route and traffic from behind the router", func(t *testing.T) {
		d := waitNexthops(t, l, host(ip), all, 30*time.Second)
		t.Logf("route %s/32 via %v after %v", ip, all, d.Round(time.Millisecond))
		paths, err := l.Router.FRR.BGPPaths(host(ip))
		if err != nil {
			t.Fatal(err)
		}
		multi := 0
		for _, p := range paths {
			if p.Multipath || p.Best() {
				multi++
			}
		}
		if len(paths) != 3 || multi != 3 {
			t.Errorf("BGP table: %d paths, %d best or multipath, want 3 and 3: %+v", len(paths), multi, paths)
		}
		seen := backends(t, l.Router.Outside, lab.URL(ip, 80), names(pods))
		t.Logf("answers through the router: %v", seen)
		// The outside client has no other way in: the LB IP is not on
		// its subnet and its only route to the lab ranges is the router.
		if out, err := l.Router.Outside.Output("ip", "route", "get", ip.String()); err != nil || !strings.Contains(out, "via "+lab.RouterOutsideIPv4.String()) {
			t.Errorf("outside client's route to %s: %q %v", ip, out, err)
		}
	})

	t.Run("externalTrafficPolicy Local advertises from endpoint nodes only", func(t *testing.T) {
		webApp(t, l, "bgp-local", 2, "  type: LoadBalancer\n  externalTrafficPolicy: Local")
		lpods := readyPods(t, l, "bgp-local", "app=web", 2)
		lip := lbIP(t, l, "bgp-local", "web")
		var want []string
		for _, p := range lpods {
			n := l.Node(p.Spec.NodeName)
			if n == nil {
				t.Fatalf("Pod %s on unknown node %q", p.Name, p.Spec.NodeName)
			}
			if !slices.Contains(want, n.IPv4.String()) {
				want = append(want, n.IPv4.String())
			}
		}
		sort.Strings(want)
		waitNexthops(t, l, host(lip), want, 30*time.Second)
		// Held, not a passing state: still exactly those a moment later,
		// after every speaker has had time to reconcile.
		hold := time.Now().Add(3 * time.Second)
		for time.Now().Before(hold) {
			if got, err := routeNexthops(l, host(lip)); err != nil || !slices.Equal(got, want) {
				t.Fatalf("next hops for %s changed to %v (%v), want %v", lip, got, err, want)
			}
			time.Sleep(250 * time.Millisecond) // sampling interval of a hold check, not a sync
		}
		backends(t, l.Router.Outside, lab.URL(lip, 80), names(lpods))

		began := time.Now()
		kubectl(t, l, "-n", "bgp-local", "delete", "service", "web")
		waitNexthops(t, l, host(lip), nil, 15*time.Second)
		t.Logf("Service deleted: route %s withdrawn after %v", lip, time.Since(began).Round(time.Millisecond))
		unreachable(t, l.Router.Outside, lab.URL(lip, 80))
	})

	t.Run("killed speaker: session closed, next hop gone", func(t *testing.T) {
		n := l.Nodes[0]
		waitNexthops(t, l, host(ip), all, 30*time.Second)
		n.Speaker.Kill()
		rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == n.IPv4.String() })
		d := waitNexthops(t, l, host(ip), rest, 15*time.Second)
		t.Logf("SIGKILL %s: next hop gone after %v", n.Name, d.Round(time.Millisecond))
		// The kernel closes a killed process's sockets: the router
		// sees the session end at once; the hold time (3s) bounds the
		// wait even if it did not.
		if d > 8*time.Second {
			t.Errorf("withdrawal took %v, hold time is 3s", d)
		}
		nb, err := l.Router.FRR.Neighbors()
		if err == nil {
			t.Logf("router: session with %s reset: %s", n.IPv4, nb[n.IPv4.String()].LastResetDueTo)
		}
		// Traffic keeps flowing through the other nodes.
		get(t, l.Router.Outside, lab.URL(ip, 80))
		if err := n.Speaker.Start(); err != nil {
			t.Fatal(err)
		}
		d = waitNexthops(t, l, host(ip), all, 60*time.Second)
		t.Logf("restarted speaker on %s: next hop back after %v", n.Name, d.Round(time.Millisecond))
	})

	t.Run("SIGTERM: speaker withdraws at once", func(t *testing.T) {
		n := l.Nodes[1]
		waitNexthops(t, l, host(ip), all, 30*time.Second)
		rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == n.IPv4.String() })
		pid := n.Speaker.PID()
		if pid == 0 {
			t.Fatal("no speaker process")
		}
		stopped := make(chan struct{})
		go func() { defer close(stopped); n.Speaker.Stop() }()
		d := waitNexthops(t, l, host(ip), rest, 10*time.Second)
		<-stopped
		t.Logf("SIGTERM %s: next hop gone after %v", n.Name, d.Round(time.Millisecond))
		nb, err := l.Router.FRR.Neighbors()
		if err != nil {
			t.Fatal(err)
		}
		reason := nb[n.IPv4.String()].LastResetDueTo
		t.Logf("router: session with %s reset: %s", n.IPv4, reason)
		// Well before the 3s hold time would have expired, and not
		// because it did.
		if d >= 3*time.Second || strings.Contains(strings.ToLower(reason), "hold") {
			t.Errorf("SIGTERM withdrawal after %v (reset: %q): want an explicit withdrawal, not the hold timer", d, reason)
		}
		if err := n.Speaker.Start(); err != nil {
			t.Fatal(err)
		}
		waitNexthops(t, l, host(ip), all, 60*time.Second)
	})

	// SIGKILL closes the speaker's TCP session (the kernel sends a FIN),
	// so the router drops the path at once. A node that stops answering
	// without closing anything (frozen, cable cut) is found by the hold
	// timer: freeze the speaker with SIGSTOP.
	t.Run("frozen speaker: next hop gone when the hold time expires", func(t *testing.T) {
		n := l.Nodes[2]
		waitNexthops(t, l, host(ip), all, 30*time.Second)
		rest := slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == n.IPv4.String() })
		pid := n.Speaker.PID()
		if pid == 0 {
			t.Fatal("no speaker process")
		}
		// The speaker leads its own process group (netlab starts it so).
		if err := syscall.Kill(-pid, syscall.SIGSTOP); err != nil {
			t.Fatal(err)
		}
		resumed := false
		resume := func() {
			if !resumed {
				resumed = true
				_ = syscall.Kill(-pid, syscall.SIGCONT)
			}
		}
		t.Cleanup(resume)
		d := waitNexthops(t, l, host(ip), rest, 15*time.Second)
		resume()
		nb, _ := l.Router.FRR.Neighbors()
		t.Logf("SIGSTOP %s: next hop gone after %v (hold time 3s, keepalive 1s); reset: %s",
			n.Name, d.Round(time.Millisecond), nb[n.IPv4.String()].LastResetDueTo)
		if d < 1500*time.Millisecond || d > 8*time.Second {
			t.Errorf("frozen speaker's path withdrawn after %v, want about the 3s hold time", d)
		}
		d = waitNexthops(t, l, host(ip), all, 60*time.Second)
		t.Logf("SIGCONT %s: next hop back after %v", n.Name, d.Round(time.Millisecond))
	})

	t.Run("Service deletion withdraws the route", func(t *testing.T) {
		began := time.Now()
		if err := l.Client.CoreV1().Services("bgp-web").Delete(context.Background(), "web", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		waitNexthops(t, l, host(ip), nil, 15*time.Second)
		t.Logf("route %s withdrawn %v after the delete call", ip, time.Since(began).Round(time.Millisecond))
		paths, err := l.Router.FRR.BGPPaths(host(ip))
		if err != nil || len(paths) != 0 {
			t.Errorf("BGP table still has %s: %+v %v", ip, paths, err)
		}
		unreachable(t, l.Router.Outside, lab.URL(ip, 80))
	})
}
