package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// theLab is the one lab every test in this package shares; bringing a
// cluster up takes tens of seconds, so tests use their own Kubernetes
// namespaces on it instead of their own labs.
var theLab *lab.Lab

// enabled reports whether the suite should run: explicitly asked for, or
// under CI, where a skip would silently drop coverage.
func enabled() bool { return os.Getenv("BARELB_E2E") != "" || os.Getenv("CI") != "" }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if !enabled() || os.Geteuid() != 0 {
		// Tests call requireLab, which skips, or fails under CI.
		return m.Run()
	}
	hostTables := hostNFTables()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithCancel(context.Background())
	var closeOnce sync.Once
	closeLab := func() {
		closeOnce.Do(func() {
			if theLab != nil {
				if err := theLab.Close(); err != nil {
					fmt.Fprintln(os.Stderr, "e2e: lab teardown:", err)
				}
			}
		})
	}
	go func() {
		if _, ok := <-sig; ok {
			fmt.Fprintln(os.Stderr, "e2e: interrupted; tearing the lab down")
			cancel()
			closeLab()
			os.Exit(130)
		}
	}()
	defer signal.Stop(sig)

	root, err := lab.FindRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	opts := lab.Options{
		Prefix:    "e2e",
		Log:       os.Stdout,
		Manifests: []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")},
	}
	// barelb's own binaries when built (make build); the lab tests below
	// hold with or without them, since no test here applies a pool.
	if p := binary(root, "BARELB_CONTROLLER", "controller"); p != "" {
		opts.Controller = &lab.Program{Path: p, Args: []string{"--leader-elect=false"}}
	}
	if p := binary(root, "BARELB_SPEAKER", "speaker"); p != "" {
		// BARELB_SPEAKER_ARGS adds speaker flags (space-separated), to
		// run the suite with a non-default setting.
		opts.Speaker = &lab.Program{Path: p, Args: append(lab.SpeakerArgs(), strings.Fields(os.Getenv("BARELB_SPEAKER_ARGS"))...)}
	}
	theLab, err = lab.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	// go test -timeout ends the binary with a panic that skips deferred
	// teardown; tear down shortly before that instead.
	if d := testDeadline(); d > 0 {
		watchdog := time.AfterFunc(d, func() {
			fmt.Fprintln(os.Stderr, "e2e: the test timeout is near; dumping logs and tearing the lab down")
			dumpLogs(theLab)
			closeLab()
			os.Exit(1)
		})
		defer watchdog.Stop()
	}
	record("lab up", theLab.UpIn)
	tag := theLab.Tag
	code := m.Run()
	if denied := theLab.MissingGrants(context.Background()); len(denied) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: the API server refused barelb requests; config/rbac lacks a grant:\n  %s\n", strings.Join(denied, "\n  "))
		code = 1
	}
	if code != 0 {
		dumpLogs(theLab)
	}
	began := time.Now()
	closeLab()
	record("lab down", time.Since(began))
	if left := lab.LeftoverNamespaces(tag); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "e2e: teardown left namespaces behind: %v\n", left)
		code = 1
	}
	if now := hostNFTables(); now != hostTables {
		fmt.Fprintf(os.Stderr, "e2e: host nftables changed during the run:\nbefore:\n%s\nafter:\n%s\n", hostTables, now)
		code = 1
	}
	printTimings(theLab)
	return code
}

// testDeadline is how long the tests may run before go test's -timeout
// fires, minus a margin for teardown (0: no timeout).
func testDeadline() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, err := time.ParseDuration(f.Value.String())
	if err != nil || d <= 0 {
		return 0
	}
	margin := 20 * time.Second
	if d <= 2*margin {
		return d / 2
	}
	return d - margin - time.Since(processStart)
}

// processStart approximates when go test started the binary.
var processStart = time.Now()

// binary is $env if set, else bin/<name> in the checkout if built.
func binary(root, env, name string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p := filepath.Join(root, "bin", name)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// requireLab returns the shared lab, skipping the test when the suite is
// not enabled, failing it under CI when it cannot run.
func requireLab(t *testing.T) *lab.Lab {
	t.Helper()
	if !enabled() {
		t.Skip("end-to-end lab tests: set BARELB_E2E=1 (CI runs them)")
	}
	netlab.RequireRoot(t)
	if theLab == nil {
		t.Fatal("the lab did not start (see TestMain output)")
	}
	return theLab
}

func hostNFTables() string {
	out, _ := exec.Command("nft", "list", "tables").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// dumpLogs prints the tail of every component's log after a failure.
func dumpLogs(l *lab.Lab) {
	for _, c := range l.Components() {
		fmt.Printf("---- %s (%s), last lines:\n%s\n", c.Name, c.Log, c.Tail(15))
		if strings.HasPrefix(c.Name, "barelb-speaker") {
			// A speaker's tail is mostly shutdown; what explains a failed
			// failover is its membership and announcement history.
			fmt.Printf("---- %s: membership, announcements and errors:\n%s\n", c.Name, speakerStory(c.Log, 40))
		}
	}
}

// speakerStory returns the last n lines of a speaker log that record a
// membership change, an announcement change, a status cleanup or an error.
func speakerStory(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	var keep []string
	for _, line := range strings.Split(string(data), "\n") {
		for _, k := range []string{`"member joined"`, `"member left or failed"`, `"announcing"`, `"stopped announcing"`, `"removed a dead node's`, `"level":"error"`} {
			if strings.Contains(line, k) {
				if len(line) > 400 {
					line = line[:400] + "..."
				}
				keep = append(keep, line)
				break
			}
		}
	}
	if len(keep) > n {
		keep = keep[len(keep)-n:]
	}
	return strings.Join(keep, "\n")
}

var (
	timingsMu sync.Mutex
	timings   []lab.Timing
)

// record notes how long a step took, for the summary at the end.
func record(what string, d time.Duration) {
	timingsMu.Lock()
	defer timingsMu.Unlock()
	timings = append(timings, lab.Timing{Phase: what, D: d})
}

// timed records the duration of the calling test or step when it returns.
func timed(what string) func() {
	began := time.Now()
	return func() { record(what, time.Since(began)) }
}

// printTimings prints the summary, and also writes it to
// $BARELB_E2E_SUMMARY when set: go test shows a passing package's output
// only with -v, so make test prints that file at the end instead.
func printTimings(l *lab.Lab) {
	var b strings.Builder
	b.WriteString("e2e timings:\n")
	for _, p := range l.Timings {
		fmt.Fprintf(&b, "  lab up: %-26s %6.1fs\n", p.Phase, p.D.Seconds())
	}
	for _, t := range timings {
		fmt.Fprintf(&b, "  %-34s %6.1fs\n", t.Phase, t.D.Seconds())
	}
	fmt.Print(b.String())
	if p := os.Getenv("BARELB_E2E_SUMMARY"); p != "" {
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: writing the timing summary:", err)
		}
	}
}
