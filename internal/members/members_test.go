package members

import (
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// Three members on loopback find each other, and a member that leaves is
// seen gone by the others quickly.
func TestMembershipAndLeave(t *testing.T) {
	var ms []*Members
	for i := 0; i < 3; i++ {
		m, err := New(Options{NodeName: fmt.Sprintf("n%d", i), BindAddr: "127.0.0.1", BindPort: 0, Secret: []byte("s3cret"), Log: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, m)
		defer m.ml.Shutdown()
	}
	first := ms[0].ml.LocalNode().Address()
	for _, m := range ms[1:] {
		if _, err := m.Join([]string{first}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(ms[2].Alive()) == 3 }, "3 alive members")
	start := time.Now()
	if err := ms[1].Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { a := ms[0].Alive(); return len(a) == 2 && !a["n1"] }, "n1 gone")
	t.Logf("leave seen after %v", time.Since(start))
}

// A member that stops without leaving (crash) is declared dead by failure
// detection; the default timings make that quick.
func TestCrashDetected(t *testing.T) {
	a, err := New(Options{NodeName: "a", BindAddr: "127.0.0.1", Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	defer a.ml.Shutdown()
	b, err := New(Options{NodeName: "b", BindAddr: "127.0.0.1", Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join([]string{a.ml.LocalNode().Address()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(a.Alive()) == 2 }, "both alive")
	if st := a.States(); st["a"] != "alive" || st["b"] != "alive" || len(st) != 2 {
		t.Fatalf("States with both up = %v", st)
	}
	start := time.Now()
	_ = b.ml.Shutdown() // no Leave: looks like a crash
	waitFor(t, func() bool { return !a.Alive()["b"] }, "b declared dead")
	// Suspect or gone: never alive once probes fail.
	if st := a.States(); st["b"] == "alive" {
		t.Fatalf("States after the crash = %v", st)
	}
	waitFor(t, func() bool { _, listed := a.States()["b"]; return !listed }, "b dropped from States")
	t.Logf("crash detected after %v", time.Since(start))
}

func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
