package members

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

func TestNoticeCodec(t *testing.T) {
	name, hold, err := decodeNotice(encodeNotice("node-a", 7*time.Second))
	if err != nil || name != "node-a" || hold != 7*time.Second {
		t.Fatalf("round trip = %q %v %v", name, hold, err)
	}
	if _, hold, _ := decodeNotice(encodeNotice("n", time.Hour)); hold != MaxRestartHold {
		t.Errorf("a notice asking for an hour holds %v, want the cap %v", hold, MaxRestartHold)
	}
	for _, b := range [][]byte{nil, []byte("hello"), []byte(restartMagic + "\x00\x00\x00\x01")} {
		if _, _, err := decodeNotice(b); err == nil {
			t.Errorf("decodeNotice(%q) accepted", b)
		}
	}
}

// startMembers starts n members on loopback, joined, with gossip
// encrypted, and stops them at the end of the test.
func startMembers(t *testing.T, names ...string) []*Members {
	t.Helper()
	var ms []*Members
	for _, name := range names {
		m, err := New(Options{NodeName: name, BindAddr: "127.0.0.1", Secret: []byte("s3cret"), Log: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = m.ml.Shutdown() })
		ms = append(ms, m)
	}
	for _, m := range ms[1:] {
		if _, err := m.Join([]string{ms[0].Addr()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool {
		for _, m := range ms {
			if len(m.Alive()) != len(ms) {
				return false
			}
		}
		return true
	}, fmt.Sprintf("%d members alive", len(ms)))
	return ms
}

// A member that announces its restart and leaves stays in the others'
// Alive (States: "restarting") until a successor with its name joins;
// one that leaves without notice is gone at once.
func TestRestartHeldUntilSuccessorJoins(t *testing.T) {
	ms := startMembers(t, "a", "b", "c")
	told, err := ms[1].AnnounceRestart(time.Minute, 2*time.Second)
	if err != nil || told != 2 {
		t.Fatalf("AnnounceRestart told %d of 2: %v", told, err)
	}
	if err := ms[1].Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	// The leave has reached a and c once memberlist drops b from its own
	// member list; held, b is still in Alive and Meta.
	for _, m := range []*Members{ms[0], ms[2]} {
		waitFor(t, func() bool {
			for _, n := range m.ml.Members() {
				if n.Name == "b" {
					return false
				}
			}
			return true
		}, "b's leave seen")
		if !m.Alive()["b"] || m.States()["b"] != "restarting" {
			t.Fatalf("after b's announced leave: Alive %v, States %v; want b held as restarting", m.Alive(), m.States())
		}
		if _, ok := m.Meta()["b"]; !ok {
			t.Errorf("held b has no metadata in Meta: its links would count as unknown")
		}
	}
	// b's successor joins: held no more, an ordinary live member.
	nb, err := New(Options{NodeName: "b", BindAddr: "127.0.0.1", Secret: []byte("s3cret"), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nb.ml.Shutdown() })
	if _, err := nb.Join([]string{ms[0].Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return ms[0].States()["b"] == "alive" && ms[2].States()["b"] == "alive" }, "b's successor alive")
	if h := ms[0].metas.restarts.heldNames(); len(h) != 0 {
		t.Errorf("still held after the successor joined: %v", h)
	}
	// Now c leaves without notice: gone at once, not held.
	if err := ms[2].Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !ms[0].Alive()["c"] }, "c gone")
}

// A hold that runs out drops the member and tells the owner (OnChange),
// so a node that does not come back is failed over.
func TestRestartHoldRunsOut(t *testing.T) {
	var lastChange atomic.Int64 // unix nanoseconds of the last OnChange
	a, err := New(Options{NodeName: "a", BindAddr: "127.0.0.1", Log: logr.Discard(), OnChange: func() {
		lastChange.Store(time.Now().UnixNano())
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.ml.Shutdown() })
	b, err := New(Options{NodeName: "b", BindAddr: "127.0.0.1", Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Join([]string{a.Addr()}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(a.Alive()) == 2 }, "both alive")
	const hold = 300 * time.Millisecond
	if told, err := b.AnnounceRestart(hold, time.Second); err != nil || told != 1 {
		t.Fatalf("AnnounceRestart told %d: %v", told, err)
	}
	left := time.Now()
	if err := b.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return a.States()["b"] == "restarting" }, "b held")
	waitFor(t, func() bool { return !a.Alive()["b"] }, "b's hold over")
	if d := time.Since(left); d < hold {
		t.Errorf("b dropped %v after leaving, before its %v hold ran out", d, hold)
	}
	// The end of the hold is a membership change of its own: without
	// OnChange then, nobody would re-plan b's addresses.
	waitFor(t, func() bool { return time.Unix(0, lastChange.Load()).Sub(left) >= hold }, "OnChange when the hold ran out")
}
