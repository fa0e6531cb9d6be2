package e2e

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// TestExplainOnLab: `kubectl barelb` on the lab, with the real controller
// and speakers writing the reasons: a Service naming a pool that does not
// exist is explained with the controller's reason and the sentence saying
// what to change; an announced Service shows the node every speaker agrees
// on, and each other node names it as the election's winner; status shows
// every speaker reporting with the full memberlist.
func TestExplainOnLab(t *testing.T) {
	l := lbLab(t)
	defer timed("explain: pending and announced Services")()
	plugin := pluginOn(t, l)
	const ns, pool = "lb-explain", "e2e-lb-explain"
	lbPool(t, l, pool, "198.18.1.194/32")
	lbNamespace(t, l, ns, 1, "")
	applyYAML(t, l, lbServiceYAML(ns, "web", pool, 80, nil, "")+"---\n"+lbServiceYAML(ns, "typo", pool+"-typo", 80, nil, ""))

	var out string
	check.Eventually(t, 30*time.Second, "explain of the pending Service", func() error {
		var err error
		if out, err = plugin("-n", ns, "explain", "svc", "typo"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		want := fmt.Sprintf(`Pending: Fix metallb.io/address-pool: no pool is named "%s-typo"`, pool)
		if !strings.Contains(out, "UnknownAddressPool") || !strings.Contains(out, want) {
			return fmt.Errorf("no verdict yet:\n%s", out)
		}
		return nil
	})
	t.Logf("explain svc typo:\n%s", out)

	lbIPs(t, l, ns, "web", 1)
	winner := l2Node(t, l, ns, "web", func(*lab.Node) error { return nil })
	check.Eventually(t, 30*time.Second, "explain of the announced Service", func() error {
		var err error
		if out, err = plugin("-n", ns, "explain", "svc", "web"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		if l := lineWith(out, "layer2 "); !strings.Contains(l, "198.18.1.194 ") || !strings.Contains(l, " "+winner.Name+" ") {
			return fmt.Errorf("announcer %s not shown:\n%s", winner.Name, out)
		}
		for _, n := range l.Nodes {
			if n.Name != winner.Name && !strings.Contains(lineWith(out, " "+n.Name+" "), "NotElected: node "+winner.Name) {
				return fmt.Errorf("node %s does not name the winner:\n%s", n.Name, out)
			}
		}
		return nil
	})
	t.Logf("explain svc web:\n%s", out)
	if strings.Contains(out, "Pending:") {
		t.Errorf("announced Service has a pending verdict")
	}

	check.Eventually(t, 30*time.Second, "every speaker in status", func() error {
		var err error
		if out, err = plugin("status"); err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		for _, n := range l.Nodes {
			line := lineWith(out, n.Name+" ")
			if !strings.Contains(line, "Valid") || strings.Count(line, ",") < len(l.Nodes)-1 {
				return fmt.Errorf("node %s: %q", n.Name, line)
			}
		}
		return nil
	})
	t.Logf("status:\n%s", out)

	// A healthy lab passes doctor; a killed speaker is dead to the others
	// in status and makes doctor fail, naming the node.
	if out, err := plugin("doctor"); err != nil {
		t.Fatalf("doctor on the healthy lab: %v\n%s", err, out)
	}
	var victim *lab.Node
	for _, n := range l.Nodes {
		if n.Name != winner.Name {
			victim = n
			break
		}
	}
	t.Cleanup(func() { _ = victim.Speaker.Start() })
	victim.Speaker.Kill()
	check.Eventually(t, 30*time.Second, "doctor finding the killed speaker", func() error {
		out, err := plugin("doctor")
		if code := exitCode(err); code != 1 || !strings.Contains(out, "the speaker on node "+victim.Name+" is dead to") {
			return fmt.Errorf("exit %d:\n%s", code, out)
		}
		return nil
	})
	st, _ := plugin("status")
	t.Logf("status with %s's speaker killed:\n%s", victim.Name, st)
	if !strings.Contains(lineWith(st, winner.Name+" "), "dead "+victim.Name) {
		t.Errorf("status does not show %s dead to %s", victim.Name, winner.Name)
	}
	check.Must(t, victim.Speaker.Start())
	check.Eventually(t, 30*time.Second, "doctor clean again", func() error {
		if out, err := plugin("doctor"); err != nil {
			return fmt.Errorf("%v:\n%s", err, out)
		}
		return nil
	})

	// The announcer dies: the address moves, and status lists the move
	// from the speakers' nodeAssigned Events.
	t.Cleanup(func() { _ = winner.Speaker.Start() })
	winner.Speaker.Kill()
	check.Eventually(t, 45*time.Second, "status listing the moved address", func() error {
		st, err := plugin("status")
		// MOVED IP, SERVICE, FROM, TO, AGE: away from the killed winner.
		f := strings.Fields(lineWith(st, "198.18.1.194   lb-explain/web"))
		if err != nil || len(f) != 5 || f[2] != winner.Name || f[3] == winner.Name {
			return fmt.Errorf("%v:\n%s", err, st)
		}
		t.Logf("status after %s's speaker was killed:\n%s", winner.Name, st)
		return nil
	})
	check.Must(t, winner.Speaker.Start())
}

// pluginOn builds kubectl-barelb and returns a runner of it on the lab
// (in the control plane's namespace, against the lab's API server).
func pluginOn(t *testing.T, l *lab.Lab) func(args ...string) (string, error) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kubectl-barelb")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/kubectl-barelb").CombinedOutput(); err != nil {
		t.Fatalf("building kubectl-barelb: %v\n%s", err, out)
	}
	return func(args ...string) (string, error) {
		c, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		argv := append([]string{"netns", "exec", l.CP.Name, bin, "--kubeconfig=" + l.Kubeconfig, "--barelb-namespace", lab.ConfigNamespace}, args...)
		out, err := exec.CommandContext(c, "ip", argv...).CombinedOutput()
		return string(out), err
	}
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// lineWith is the first line of out containing s.
func lineWith(out, s string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, s) {
			return line
		}
	}
	return ""
}
