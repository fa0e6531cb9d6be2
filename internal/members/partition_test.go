package members

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/memberlist"
)

// TestMetaAfterPartition: a member cut off from the others changes its
// metadata while cut (link down, settling) and again once back (link
// up, then settled). Every member must end with its last metadata:
// a stale copy anywhere makes two speakers plan differently (the
// link-aware election once disagreed for over 30 s after a link came
// back). The members rejoin as the speaker's joiner does, every 2 s.
func TestMetaAfterPartition(t *testing.T) {
	var network simNet
	const n = 3
	ms := make([]*Members, n)
	trs := make([]*simTransport, n)
	var mu sync.Mutex // guards ms[1] across a restart
	start := func(i int, meta NodeMeta, tr *simTransport) {
		c, store, err := config(Options{NodeName: fmt.Sprintf("n%d", i), Secret: []byte("sim"), Meta: meta, Log: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		c.Transport = tr
		ml, err := memberlist.Create(c)
		if err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		ms[i], trs[i] = &Members{ml: ml, log: logr.Discard(), metas: store}, tr
		mu.Unlock()
		t.Cleanup(func() { _ = ml.Shutdown() })
	}
	member := func(i int) *Members {
		mu.Lock()
		defer mu.Unlock()
		return ms[i]
	}
	for i := range ms {
		start(i, metaOf(i, true), network.transport())
		if i > 0 {
			if _, err := ms[i].Join([]string{ms[0].Addr()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	stop := make(chan struct{})
	defer close(stop)
	for i := range ms {
		go func() {
			tk := time.NewTicker(2 * time.Second)
			defer tk.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tk.C:
				}
				m := member(i)
				alive := m.Alive()
				for j := range ms {
					if o := member(j); j != i && !alive[fmt.Sprintf("n%d", j)] {
						_, _ = m.Join([]string{o.Addr()})
					}
				}
			}
		}()
	}
	agree := func(want NodeMeta) func() bool {
		return func() bool {
			for i := range ms {
				if md, ok := member(i).Meta()["n1"]; !ok || !md.Equal(want) {
					return false
				}
			}
			return true
		}
	}
	waitFor(t, agree(metaOf(1, true)), "every member sees n1's metadata")

	for round := 0; round < 4; round++ {
		trs[1].down.Store(true)
		waitFor(t, func() bool { return !member(0).Alive()["n1"] && !member(1).Alive()["n0"] }, "n1 cut off, both sides notice")
		down := metaOf(1, false)
		down.Settling = true
		if err := member(1).SetMeta(down, 100*time.Millisecond); err == nil {
			t.Log("a broadcast while cut off reported sent") // nothing reached anyone
		}
		// Odd rounds: the change is gossiped while still cut off (a link
		// reported up before the path forwards), so its broadcast is
		// lost and only the rejoin's push/pull can carry it.
		lost := round%2 == 1
		if !lost {
			trs[1].down.Store(false)
		}
		up := metaOf(1, true)
		up.Settling = true
		_ = member(1).SetMeta(up, time.Second)
		settled := metaOf(1, true)
		_ = member(1).SetMeta(settled, time.Second)
		trs[1].down.Store(false)
		start := time.Now()
		waitFor(t, agree(settled), fmt.Sprintf("round %d: every member sees n1 back, up and settled", round))
		t.Logf("round %d: every member has n1's last metadata %v after it came back", round, time.Since(start).Round(10*time.Millisecond))
	}

	// Restarts: a fresh memberlist starts its incarnation over, below
	// what the others last heard from n1 (its SetMeta calls raised it),
	// so its first alive messages are ignored until it refutes. Crash
	// (no Leave) and graceful (Leave) restarts, each then changing its
	// metadata once settled, as a speaker does.
	for _, graceful := range []bool{false, true} {
		old := member(1)
		if graceful {
			_ = old.ml.Leave(time.Second)
		}
		_ = old.ml.Shutdown()
		trs[1].down.Store(true)
		waitFor(t, func() bool { return !member(0).Alive()["n1"] && !member(2).Alive()["n1"] }, "n1 gone")
		fresh := metaOf(1, true)
		fresh.Settling = true
		start(1, fresh, network.replace(trs[1]))
		if _, err := member(1).Join([]string{member(0).Addr()}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, agree(fresh), fmt.Sprintf("graceful=%v: every member sees the restarted n1, settling", graceful))
		settled := metaOf(1, true)
		_ = member(1).SetMeta(settled, time.Second)
		begun := time.Now()
		waitFor(t, agree(settled), fmt.Sprintf("graceful=%v: every member sees the restarted n1 settled", graceful))
		t.Logf("restart (graceful=%v): every member has n1's last metadata %v after its change", graceful, time.Since(begun).Round(10*time.Millisecond))
	}
}
