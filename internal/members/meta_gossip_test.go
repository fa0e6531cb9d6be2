package members

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// metaOf gives member i of a test cluster one LAN interface with its own
// MAC and subnet.
func metaOf(i int, up bool) NodeMeta {
	return NodeMeta{Interfaces: []Interface{{
		Name: "eth0", MAC: mac(fmt.Sprintf("02:00:00:00:00:%02x", i)), Up: up,
		Prefixes: pfx("198.18.0.0/24", "2001:db8::/64"),
	}}}
}

// metaEvents records OnMeta calls per member name.
type metaEvents struct {
	mu   sync.Mutex
	seen map[string]int
}

func (e *metaEvents) note(name string) {
	e.mu.Lock()
	e.seen[name]++
	e.mu.Unlock()
}

func (e *metaEvents) count(name string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.seen[name]
}

// Three members on loopback learn each other's metadata when they join;
// a change on one (its LAN link goes down) reaches the others within a
// gossip round or two, through OnMeta and Meta; the MACs of a member that
// crashed stay known.
func TestMetaGossip(t *testing.T) {
	var ms []*Members
	var evs []*metaEvents
	for i := 0; i < 3; i++ {
		ev := &metaEvents{seen: map[string]int{}}
		m, err := New(Options{NodeName: fmt.Sprintf("n%d", i), BindAddr: "127.0.0.1", Secret: []byte("s3cret"),
			Meta: metaOf(i, true), OnMeta: ev.note, Log: logr.Discard()})
		if err != nil {
			t.Fatal(err)
		}
		ms, evs = append(ms, m), append(evs, ev)
		defer m.ml.Shutdown()
	}
	for _, m := range ms[1:] {
		if _, err := m.Join([]string{ms[0].ml.LocalNode().Address()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range ms {
		waitFor(t, func() bool {
			got := m.Meta()
			ok := len(got) == 3
			for i := 0; i < 3; i++ {
				ok = ok && got[fmt.Sprintf("n%d", i)].Equal(metaOf(i, true))
			}
			return ok
		}, "every member's metadata everywhere")
	}
	if got := ms[0].SpeakerMACs(); len(got) != 3 || got[2].String() != "02:00:00:00:00:02" {
		t.Errorf("SpeakerMACs = %v, want the three members' MACs", got)
	}

	before := evs[0].count("n1")
	start := time.Now()
	if err := ms[1].SetMeta(metaOf(1, false), time.Second); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return ms[0].Meta()["n1"].Equal(metaOf(1, false)) && ms[2].Meta()["n1"].Equal(metaOf(1, false))
	}, "n1's link down seen by n0 and n2")
	t.Logf("metadata change seen by both others after %v (gossip interval 50ms; BenchmarkMetaPropagation measures it)", time.Since(start))
	if evs[0].count("n1") <= before {
		t.Error("n0's OnMeta was not called for n1's change")
	}
	// Setting the same metadata again is not a change.
	calls := evs[0].count("n1")
	if err := ms[1].SetMeta(metaOf(1, false), time.Second); err != nil {
		t.Fatal(err)
	}
	if err := ms[1].SetMeta(NodeMeta{Interfaces: make([]Interface, 300)}, time.Second); err == nil {
		t.Error("300 interfaces were accepted")
	}
	if !ms[1].Meta()["n1"].Equal(metaOf(1, false)) {
		t.Error("a refused SetMeta replaced the metadata")
	}

	_ = ms[2].ml.Shutdown() // a crash
	waitFor(t, func() bool { _, ok := ms[0].Meta()["n2"]; return !ok }, "n2 gone from Meta")
	if got := ms[0].SpeakerMACs(); len(got) != 3 {
		t.Errorf("after n2 crashed SpeakerMACs = %v, want its MAC still known", got)
	}
	if n := evs[0].count("n1"); n != calls {
		t.Errorf("n0's OnMeta ran %d more times for n1 without a change", n-calls)
	}
}

// BenchmarkMetaPropagation measures how long a metadata change (a link
// going down or up) takes to reach another member over loopback with the
// default timings: the time the others' election waits for it.
func BenchmarkMetaPropagation(b *testing.B) {
	var ms []*Members
	for i := 0; i < 2; i++ {
		m, err := New(Options{NodeName: fmt.Sprintf("n%d", i), BindAddr: "127.0.0.1", Meta: metaOf(i, true), Log: logr.Discard()})
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
		defer m.ml.Shutdown()
	}
	if _, err := ms[1].Join([]string{ms[0].Addr()}); err != nil {
		b.Fatal(err)
	}
	waitFor(b, func() bool { _, ok := ms[0].Meta()["n1"]; return ok }, "n1's metadata at n0")
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		want := metaOf(1, i%2 == 1)
		start := time.Now()
		if err := ms[1].SetMeta(want, time.Second); err != nil {
			b.Fatal(err)
		}
		for !ms[0].Meta()["n1"].Equal(want) {
			time.Sleep(time.Millisecond) // polling what is measured, 1 ms resolution
		}
		total += time.Since(start)
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/change")
}
