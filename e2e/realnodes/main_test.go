package realnodes

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// theLab is the real-node lab the tests share: starting one takes a
// minute on two cores.
var theLab *lab.Lab

// labErr is why theLab is nil when the suite should have run.
var labErr error

func enabled() bool { return os.Getenv("BARELB_E2E") != "" || os.Getenv("CI") != "" }

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	if !enabled() || os.Geteuid() != 0 {
		return m.Run() // requireLab skips, or fails under CI
	}
	root, err := lab.FindRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "realnodes:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	closeLab := func() {
		once.Do(func() {
			if theLab != nil {
				if err := theLab.Close(); err != nil {
					fmt.Fprintln(os.Stderr, "realnodes: lab teardown:", err)
				}
			}
		})
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			cancel()
			closeLab()
			os.Exit(130)
		}
	}()
	theLab, labErr = lab.Start(ctx, lab.Options{
		Prefix: "rn", Nodes: 2, RealNodes: true, Log: os.Stdout,
		StartTimeout: 6 * time.Minute,
		// No manifests: each test installs barelb, CRDs and RBAC
		// included, as an operator does (helm install, or kubectl apply
		// of config/crd and config/deploy), and removes it again.
		RepoRoot: root,
	})
	if theLab != nil {
		var phases []string
		for _, p := range theLab.Timings {
			phases = append(phases, fmt.Sprintf("%s %.1fs", p.Phase, p.D.Seconds()))
		}
		fmt.Printf("real-node lab (%d nodes) up in %.1fs: %s\n", len(theLab.Nodes), theLab.UpIn.Seconds(), strings.Join(phases, ", "))
	}
	rc := m.Run()
	var stateDir string
	if theLab != nil {
		stateDir = theLab.StateDir
	}
	closeLab()
	// Teardown must leave no process behind: containerd's shims and the
	// Pods' processes are daemons that outlive their parents.
	if stateDir != "" {
		if left := lab.ProcessesUnder(stateDir); len(left) > 0 {
			fmt.Fprintf(os.Stderr, "realnodes: processes left after teardown:\n%s\n", strings.Join(left, "\n"))
			rc = 1
		}
	}
	return rc
}

// requireLab returns the shared lab, skipping when the suite is not
// enabled and failing when it is but the lab did not start.
func requireLab(t *testing.T) *lab.Lab {
	t.Helper()
	if !enabled() {
		t.Skip("end-to-end test: set BARELB_E2E=1 (runs in CI)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root; CI runs as root, so this is a setup error")
		}
		t.Skip("needs root and network namespaces")
	}
	if theLab == nil {
		t.Fatalf("real-node lab did not start: %v", labErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range theLab.Components() {
				t.Logf("---- %s (last lines)\n%s", c.Name, c.Tail(15))
			}
		}
	})
	return theLab
}
