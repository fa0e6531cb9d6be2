package members

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/hashicorp/memberlist"
)

// BenchmarkMembersSim runs many memberlist instances in one process over
// simNet with barelb's settings (config), changing only the probe interval
// and the suspicion multiplier, and reports:
//
//   - detect-p50-s, detect-p99-s, detect-max-s: from a member's crash
//     (no Leave: its transport stops answering and its memberlist stops)
//     to each surviving member declaring it dead, over every survivor of
//     every trial;
//   - first-s: the same to the first survivor, averaged over trials;
//   - B/s/member and pkt/s/member: what a member sends in steady state
//     (payload plus 28 bytes of IPv4 and UDP headers a packet, and TCP
//     push/pull payload), over a window covering two push/pull rounds;
//   - false-dead: members declared dead that never crashed.
//
// It needs -bench (and is meant for -benchtime 1x): make bench-members.
func BenchmarkMembersSim(b *testing.B) {
	for _, c := range []struct {
		members int
		probe   time.Duration
		mult    int
	}{
		{50, 200 * time.Millisecond, 2},
		{200, 200 * time.Millisecond, 2},
		{200, 200 * time.Millisecond, 4},
		{200, 500 * time.Millisecond, 2},
		{200, time.Second, 4},
	} {
		name := fmt.Sprintf("members=%d/probe=%v/suspicion=%d", c.members, c.probe, c.mult)
		b.Run(name, func(b *testing.B) {
			r := simulate(b, c.members, c.probe, c.mult, 5)
			b.ReportMetric(r.percentile(50), "detect-p50-s")
			b.ReportMetric(r.percentile(99), "detect-p99-s")
			b.ReportMetric(r.percentile(100), "detect-max-s")
			b.ReportMetric(r.first, "first-s")
			b.ReportMetric(r.bytesPerSec, "B/s/member")
			b.ReportMetric(r.pktsPerSec, "pkt/s/member")
			b.ReportMetric(float64(r.falseDead), "false-dead")
		})
	}
}

type simResult struct {
	detect      []float64 // seconds, every survivor of every trial
	first       float64
	bytesPerSec float64
	pktsPerSec  float64
	falseDead   int
}

func (r simResult) percentile(p float64) float64 {
	if len(r.detect) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(r.detect))
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// deaths records, per observer, when it declared which member dead.
type deaths struct {
	mu   sync.Mutex
	seen map[string]map[string]time.Time // victim -> observer -> time
}

func (d *deaths) record(observer, victim string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.seen[victim] == nil {
		d.seen[victim] = map[string]time.Time{}
	}
	if _, ok := d.seen[victim][observer]; !ok {
		d.seen[victim][observer] = time.Now()
	}
}

func (d *deaths) of(victim string) map[string]time.Time {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.seen[victim])
}

// recorder is an extra event delegate beside barelb's own.
type recorder struct {
	memberlist.EventDelegate
	self string
	d    *deaths
}

func (r recorder) NotifyLeave(n *memberlist.Node) {
	r.d.record(r.self, n.Name)
	r.EventDelegate.NotifyLeave(n)
}

func simulate(b *testing.B, n int, probe time.Duration, mult, trials int) simResult {
	var network simNet
	d := &deaths{seen: map[string]map[string]time.Time{}}
	type member struct {
		name string
		ml   *memberlist.Memberlist
		tr   *simTransport
	}
	ms := make([]member, n)
	for i := range ms {
		name := fmt.Sprintf("worker-%04d", i)
		c := config(Options{NodeName: name, ProbeInterval: probe, SuspicionMult: mult, Secret: []byte("sim"), Log: logr.Discard()})
		tr := network.transport()
		c.Transport = tr
		c.Events = recorder{c.Events, name, d}
		ml, err := memberlist.Create(c)
		if err != nil {
			b.Fatal(err)
		}
		ms[i] = member{name, ml, tr}
		b.Cleanup(func() { _ = ml.Shutdown() })
		if i > 0 {
			if _, err := ml.Join([]string{ms[0].ml.LocalNode().Address()}); err != nil {
				b.Fatal(err)
			}
		}
	}
	poll(b, 2*time.Minute, "every member sees all alive", func() bool {
		for _, m := range ms {
			if m.ml.NumMembers() != n {
				return false
			}
		}
		return true
	})

	// Steady state: two push/pull rounds (every 5 s).
	var before, beforePkts int64
	for _, m := range ms {
		before += m.tr.sent.Load()
		beforePkts += m.tr.pkts.Load()
	}
	start := time.Now()
	window := 10 * time.Second
	poll(b, window+time.Minute, "the measuring window", func() bool { return time.Since(start) >= window })
	var after, afterPkts int64
	for _, m := range ms {
		after += m.tr.sent.Load()
		afterPkts += m.tr.pkts.Load()
	}
	secs := time.Since(start).Seconds()
	r := simResult{
		bytesPerSec: float64(after-before) / secs / float64(n),
		pktsPerSec:  float64(afterPkts-beforePkts) / secs / float64(n),
	}

	crashed := map[string]bool{}
	for trial := range trials {
		v := ms[1+trial*(n/trials)%(n-1)]
		crashed[v.name] = true
		t0 := time.Now()
		v.tr.down.Store(true)
		_ = v.ml.Shutdown()
		poll(b, time.Minute, "every survivor declares "+v.name+" dead", func() bool {
			seen := d.of(v.name)
			for _, m := range ms {
				if !crashed[m.name] && seen[m.name].IsZero() {
					return false
				}
			}
			return true
		})
		first := math.Inf(1)
		for obs, at := range d.of(v.name) {
			if !crashed[obs] {
				s := at.Sub(t0).Seconds()
				r.detect = append(r.detect, s)
				first = math.Min(first, s)
			}
		}
		r.first += first / float64(trials)
	}
	d.mu.Lock()
	for victim := range d.seen {
		if !crashed[victim] {
			r.falseDead++
		}
	}
	d.mu.Unlock()
	return r
}

// poll waits for cond, checking every 20 ms, and fails after timeout.
func poll(b *testing.B, timeout time.Duration, what string, cond func() bool) {
	b.Helper()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	b.Fatalf("timed out waiting for %s", what)
}
