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

	"github.com/barelb/barelb/testsupport/cputime"
)

// BenchmarkMembersSim runs many memberlist instances in one process over
// simNet with barelb's settings (config), changing only the probe interval
// and the suspicion multiplier, and reports:
//
//   - detect-p50-s, detect-p99-s, detect-max-s: from a member's crash
//     (no Leave: its transport stops answering and its memberlist stops)
//     to each surviving member declaring it dead, over every survivor of
//     every trial; first-s: the same to the first survivor, averaged;
//   - gossip-B/s/member and pkt/s/member: the UDP a member sends in steady
//     state (payload plus 28 bytes of IPv4 and UDP headers a packet);
//     pushpull-B/exchange: one TCP push/pull of the full state, both ways,
//     measured; pushpull-B/s/member: that over memberlist's push/pull
//     interval for the cluster size (5 s, scaled up from 33 members), as
//     each member starts one exchange an interval and answers one on
//     average;
//   - false-dead: members declared dead that never crashed;
//   - cpu-millicores/member: CPU per member in steady state.
//
// Time dilation: 200 members gossiping every 50 ms need more CPU than two
// shared cores give, and a starved process misses its own probe timeouts
// until every member suspects every other. So the larger runs multiply
// every memberlist interval and timeout by dilation (the protocol has no
// other clock) and divide the times measured by it (bandwidth multiplied);
// the 50-member case runs both ways to show the figures agree.
//
// It needs -bench (and is meant for -benchtime 1x): make bench-members.
func BenchmarkMembersSim(b *testing.B) {
	for _, c := range []struct {
		members  int
		probe    time.Duration
		mult     int
		dilation int
	}{
		{50, 200 * time.Millisecond, 2, 1},
		{50, 200 * time.Millisecond, 2, 10},
		{200, 200 * time.Millisecond, 2, 10},
		{200, 200 * time.Millisecond, 4, 10},
		{200, 500 * time.Millisecond, 2, 10},
	} {
		name := fmt.Sprintf("members=%d/probe=%v/suspicion=%d/dilation=%d", c.members, c.probe, c.mult, c.dilation)
		b.Run(name, func(b *testing.B) {
			r := simulate(b, c.members, c.probe, c.mult, c.dilation, 5)
			b.ReportMetric(r.percentile(50), "detect-p50-s")
			b.ReportMetric(r.percentile(99), "detect-p99-s")
			b.ReportMetric(r.percentile(100), "detect-max-s")
			b.ReportMetric(r.first, "first-s")
			b.ReportMetric(r.bytesPerSec, "gossip-B/s/member")
			b.ReportMetric(r.pktsPerSec, "pkt/s/member")
			b.ReportMetric(r.pushPull, "pushpull-B/s/member")
			b.ReportMetric(r.exchange, "pushpull-B/exchange")
			b.ReportMetric(float64(r.falseDead), "false-dead")
			b.ReportMetric(r.cores/float64(c.members)*1000, "cpu-millicores/member")
		})
	}
}

type simResult struct {
	detect      []float64 // seconds, every survivor of every trial
	first       float64
	bytesPerSec float64
	pktsPerSec  float64
	pushPull    float64
	exchange    float64 // bytes of one push/pull, both ways
	falseDead   int
	cores       float64 // CPU the whole simulation used in steady state, in simulated time
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

// forget drops what was recorded of victim: deaths declared before its
// crash were false (it refuted them) and are counted apart.
func (d *deaths) forget(victim string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := len(d.seen[victim])
	delete(d.seen, victim)
	return n
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

// pushPullInterval is memberlist's push/pull period for n members:
// barelb's 5 s, times one more for every doubling beyond 32.
func pushPullInterval(n int) time.Duration {
	if n <= 32 {
		return 5 * time.Second
	}
	return 5 * time.Second * time.Duration(math.Ceil(math.Log2(float64(n))-5)+1)
}

func simulate(b *testing.B, n int, probe time.Duration, mult, dilation, trials int) simResult {
	dil := time.Duration(dilation)
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
		c, _, err := config(Options{NodeName: name, ProbeInterval: probe, SuspicionMult: mult, Secret: []byte("sim"), Log: logr.Discard()})
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range []*time.Duration{&c.ProbeInterval, &c.ProbeTimeout, &c.GossipInterval, &c.PushPullInterval, &c.TCPTimeout, &c.GossipToTheDeadTime} {
			*d *= dil
		}
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
			// Join through an earlier member chosen to spread the
			// push/pull load (member 0 alone times out at 200), as
			// speakers joining a large cluster name several peers.
			// A push/pull can time out (1 s) on a loaded machine: retry.
			seeds := []string{ms[i/2].ml.LocalNode().Address(), ms[i-1].ml.LocalNode().Address()}
			var err error
			for range 5 {
				if _, err = ml.Join(seeds); err == nil {
					break
				}
			}
			if err != nil {
				b.Fatal(err)
			}
		}
	}
	poll(b, 5*time.Minute, "every member sees all alive", func() bool {
		for _, m := range ms {
			if m.ml.NumMembers() != n {
				return false
			}
		}
		return true
	})

	// Let the joins' broadcasts drain (each is retransmitted 4·log10(n+1)
	// times, so a few seconds of simulated time) before measuring: joins
	// take wall time, so a dilated run packs them into a moment of its
	// own time and would measure their tail as steady state.
	settled := time.Now()
	poll(b, 10*time.Second*dil+time.Minute, "the joins to settle", func() bool { return time.Since(settled) >= 5*time.Second*dil })

	var before, beforePkts int64
	for _, m := range ms {
		before += m.tr.sent.Load()
		beforePkts += m.tr.pkts.Load()
	}
	start, cpu := time.Now(), cputime.Start()
	window := 3 * time.Second * dil
	poll(b, window+time.Minute, "the measuring window", func() bool { return time.Since(start) >= window })
	var after, afterPkts int64
	for _, m := range ms {
		after += m.tr.sent.Load()
		afterPkts += m.tr.pkts.Load()
	}
	secs := time.Since(start).Seconds() / float64(dilation) // simulated
	r := simResult{
		bytesPerSec: float64(after-before) / secs / float64(n),
		pktsPerSec:  float64(afterPkts-beforePkts) / secs / float64(n),
		cores:       cpu.Total().Seconds() / secs,
	}
	// One push/pull exchange, measured: Join runs one with the member it
	// names (the window is shorter than the push/pull interval, and the
	// streams in it also carry small TCP ping fallbacks).
	streamBytes := func() (sum int64) {
		for _, m := range ms {
			sum += m.tr.streamd.Load()
		}
		return sum
	}
	s0 := streamBytes()
	if _, err := ms[1].ml.Join([]string{ms[n/2].ml.LocalNode().Address()}); err != nil {
		b.Fatal(err)
	}
	r.exchange = float64(streamBytes() - s0)
	r.pushPull = r.exchange / pushPullInterval(n).Seconds()

	crashed := map[string]bool{}
	for trial := range trials {
		v := ms[1+trial*(n/trials)%(n-1)]
		crashed[v.name] = true
		r.falseDead += d.forget(v.name)
		t0 := time.Now()
		v.tr.down.Store(true)
		_ = v.ml.Shutdown()
		poll(b, time.Minute*dil, "every survivor declares "+v.name+" dead", func() bool {
			seen := d.of(v.name)
			for _, m := range ms {
				if !crashed[m.name] && seen[m.name].IsZero() && sees(m.ml, v.name) {
					return false
				}
			}
			return true
		})
		first := math.Inf(1)
		for obs, at := range d.of(v.name) {
			if !crashed[obs] {
				s := at.Sub(t0).Seconds() / float64(dilation)
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

// sees tells whether ml counts name among its live (or suspected) members;
// one that still had it dead from a false death records no new one.
func sees(ml *memberlist.Memberlist, name string) bool {
	for _, n := range ml.Members() {
		if n.Name == name {
			return true
		}
	}
	return false
}
