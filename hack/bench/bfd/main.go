// Command bfd benchmarks barelb's BFD (internal/bfd/bfdnet) in network
// namespaces with the 300 ms x 3 profile:
//
//   - detection: a single-hop session with FRR's bfdd; -cuts times the
//     BFD packets are silently dropped in FRR's namespace (nftables, no
//     interface event) and the time from the cut to barelb's Down event
//     is recorded (and FRR's, polled through vtysh, so coarser); p50/p99/max;
//   - scale: -sessions sessions on one Manager against a second Manager
//     run by this command in another namespace and process: time to all
//     Up, CPU (getrusage over -window in steady state) and memory (Go heap
//     and stacks, RSS) of the measured process, then one cut of all of
//     them and the detection-time distribution across sessions.
//
// Needs root:
//
//	go run ./hack/bench/bfd -cuts 20 -sessions 100
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/internal/bfd/bfdnet"
	"github.com/barelb/barelb/testsupport/bfdlab"
	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

var fast = bfd.Profile{ReceiveInterval: 300 * time.Millisecond, TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 3}

func main() {
	cuts := flag.Int("cuts", 20, "link cuts against FRR (0 skips)")
	sessions := flag.Int("sessions", 100, "sessions on one Manager against a second Manager (0 skips)")
	window := flag.Duration("window", 10*time.Second, "steady-state CPU measurement window")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the measuring process")
	peer := flag.Int("peer", 0, "internal: run as the peer Manager with this many sessions")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *peer > 0 {
		runPeer(*peer)
		return
	}
	if err := run(*cuts, *sessions, *window); err != nil {
		fmt.Fprintln(os.Stderr, "bench bfd:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(cuts, sessions int, window time.Duration) error {
	_ = netlab.Sweep()
	lab, err := netlab.New("bfdb")
	if err != nil {
		return err
	}
	defer lab.Close()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() { <-stop; lab.Close(); os.Exit(1) }()
	if cuts > 0 {
		if err := benchFRR(lab, cuts); err != nil {
			return err
		}
	}
	if sessions > 0 {
		if err := benchScale(lab, sessions, window); err != nil {
			return err
		}
	}
	return nil
}

// events collects a Manager's transitions.
type events struct {
	mu   sync.Mutex
	cond *sync.Cond
	list []bfdnet.Event
}

func newEvents() *events { e := &events{}; e.cond = sync.NewCond(&e.mu); return e }

func (e *events) add(ev bfdnet.Event) {
	e.mu.Lock()
	e.list = append(e.list, ev)
	e.mu.Unlock()
	e.cond.Broadcast()
}

// waitDown returns the Down events after index from, once n keys have
// one, or an error at the deadline.
func (e *events) wait(from int, to bfd.State, n int, timeout time.Duration) (map[bfdnet.Key]time.Time, error) {
	deadline := time.Now().Add(timeout)
	go func() { time.Sleep(timeout); e.cond.Broadcast() }()
	e.mu.Lock()
	defer e.mu.Unlock()
	for {
		got := map[bfdnet.Key]time.Time{}
		for _, ev := range e.list[from:] {
			if ev.To == to {
				if _, seen := got[ev.Key]; !seen {
					got[ev.Key] = ev.Time
				}
			}
		}
		if len(got) >= n {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("%d of %d sessions reached %v within %v", len(got), n, to, timeout)
		}
		e.cond.Wait()
	}
}

func (e *events) len() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.list) }

func benchFRR(lab *netlab.Lab, cuts int) error {
	nodeNS, rtrNS, err := bfdlab.Pair(lab, "node", "rtr", []string{"198.18.1.2/24"}, []string{"198.18.1.1/24"})
	if err != nil {
		return err
	}
	r, err := frrlab.Start(rtrNS, frrlab.Config{})
	if err != nil {
		return err
	}
	defer r.Close()
	b, err := bfdlab.StartBFDD(r, "bfd\n peer 198.18.1.2 interface eth0\n  receive-interval 300\n  transmit-interval 300\n  detect-multiplier 3\n !\n!\n")
	if err != nil {
		return err
	}
	defer b.Close()
	ev := newEvents()
	m := bfdnet.New(bfdnet.Options{OnChange: ev.add})
	defer m.Close()
	c := bfdnet.Config{Local: netip.MustParseAddr("198.18.1.2"), Remote: netip.MustParseAddr("198.18.1.1"), Interface: "eth0", Profile: fast}
	if err := nodeNS.Do(func() error { return m.Add(c) }); err != nil {
		return err
	}
	frrState := func(want string) error {
		return bfdlab.WaitFor(15*time.Second, func() error {
			p, err := b.PeerByAddr("198.18.1.2")
			if err == nil && p.Status != want {
				err = fmt.Errorf("FRR session %s, want %s", p.Status, want)
			}
			return err
		})
	}
	var ours, theirs []time.Duration
	for i := range cuts {
		if _, err := ev.wait(0, bfd.Up, 1, 15*time.Second); err != nil {
			return err
		}
		if err := frrState("up"); err != nil {
			return err
		}
		// Settle: timers at 300 ms, no poll running, random phase.
		if err := bfdlab.WaitFor(5*time.Second, func() error {
			st, _ := m.Session(c.Key())
			if st.Status.State != bfd.Up || st.Status.Polling || st.Status.DetectionTime != 900*time.Millisecond {
				return fmt.Errorf("session not settled: %+v", st.Status)
			}
			return nil
		}); err != nil {
			return err
		}
		time.Sleep(time.Duration(100+37*i%300) * time.Millisecond)
		from := ev.len()
		if err := bfdlab.Cut(rtrNS); err != nil {
			return err
		}
		cut := time.Now()
		down, err := ev.wait(from, bfd.Down, 1, 5*time.Second)
		if err != nil {
			return err
		}
		if err := frrState("down"); err != nil {
			return err
		}
		theirs = append(theirs, time.Since(cut))
		ours = append(ours, down[c.Key()].Sub(cut))
		from = ev.len()
		if err := bfdlab.Heal(rtrNS); err != nil {
			return err
		}
		if _, err := ev.wait(from, bfd.Up, 1, 15*time.Second); err != nil {
			return err
		}
	}
	fmt.Printf("BFD detection against FRR bfdd, single-hop, 300ms x 3 (detection time 900ms), %d silent cuts:\n", cuts)
	fmt.Printf("  barelb: %s\n", summary(ours))
	fmt.Printf("  FRR (vtysh polled, upper bound): %s\n", summary(theirs))
	return nil
}

func summary(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	return fmt.Sprintf("p50 %v  p99 %v  min %v  max %v  (n=%d)", q(0.50), q(0.99), s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond), len(s))
}

// scale addresses: side A has 198.18.4.1..n (n <= 120), side B
// 198.18.4.129..128+n, all on one veth.
func addrA(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 4, byte(1 + i)}) }
func addrB(i int) netip.Addr { return netip.AddrFrom4([4]byte{198, 18, 4, byte(129 + i)}) }

func benchScale(lab *netlab.Lab, n int, window time.Duration) error {
	if n > 120 {
		return fmt.Errorf("at most 120 sessions (one /24 split in two)")
	}
	var as, bs []string
	for i := range n {
		as = append(as, addrA(i).String()+"/24")
		bs = append(bs, addrB(i).String()+"/24")
	}
	nsA, nsB, err := bfdlab.Pair(lab, "sa", "sb", as, bs)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	peer, err := nsB.Start(os.Stderr, self, "-peer", strconv.Itoa(n))
	if err != nil {
		return err
	}
	defer peer.Stop()

	runtime.GC()
	heap0, rss0 := memNow()
	ev := newEvents()
	m := bfdnet.New(bfdnet.Options{OnChange: ev.add})
	defer m.Close()
	start := time.Now()
	err = nsA.Do(func() error {
		for i := range n {
			if err := m.Add(bfdnet.Config{Local: addrA(i), Remote: addrB(i), Interface: "eth0", Profile: fast}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if _, err := ev.wait(0, bfd.Up, n, 30*time.Second); err != nil {
		return err
	}
	allUp := time.Since(start)
	// Let the post-Up poll sequences finish before measuring.
	time.Sleep(2 * time.Second)
	runtime.GC()
	heap1, rss1 := memNow()
	before := snapshotPackets(m)
	u0, s0 := cpuNow()
	t0 := time.Now()
	time.Sleep(window)
	u1, s1 := cpuNow()
	elapsed := time.Since(t0)
	after := snapshotPackets(m)
	cpu := (u1 - u0) + (s1 - s0)
	pps := float64(after-before) / elapsed.Seconds()
	fmt.Printf("%d sessions on one Manager (peer: a second Manager in another namespace and process), 300ms x 3:\n", n)
	fmt.Printf("  all Up after %v\n", allUp.Round(time.Millisecond))
	fmt.Printf("  CPU %.2f%% of one core over %v (%.1f µs per packet, %.0f packets/s in+out; %.3f%% per session)\n",
		100*cpu.Seconds()/elapsed.Seconds(), window, float64(cpu.Microseconds())/(pps*elapsed.Seconds()), pps, 100*cpu.Seconds()/elapsed.Seconds()/float64(n))
	// RSS is printed whole: the Go runtime returns memory lazily, so a
	// difference can even be negative after the FRR part.
	dh := float64(int64(heap1)-int64(heap0)) / 1024
	fmt.Printf("  memory: Go heap+stacks %+.0f KiB (%.1f KiB per session); process RSS %.1f MiB (%.1f MiB before the sessions)\n",
		dh, dh/float64(n), float64(rss1)/(1<<20), float64(rss0)/(1<<20))

	from := ev.len()
	if err := bfdlab.Cut(nsB); err != nil {
		return err
	}
	cut := time.Now()
	down, err := ev.wait(from, bfd.Down, n, 10*time.Second)
	if err != nil {
		return err
	}
	var ds []time.Duration
	for _, t := range down {
		ds = append(ds, t.Sub(cut))
	}
	fmt.Printf("  one silent cut of all %d: detection %s\n", n, summary(ds))
	return bfdlab.Heal(nsB)
}

func snapshotPackets(m *bfdnet.Manager) uint64 {
	var t uint64
	for _, s := range m.Snapshot().Sessions {
		t += s.ControlIn + s.ControlOut
	}
	return t
}

func memNow() (heap, rss uint64) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	heap = ms.HeapInuse + ms.StackInuse
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			rss = kb * 1024
		}
	}
	return heap, rss
}

func cpuNow() (user, sys time.Duration) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// runPeer is the other side of benchScale, started inside its namespace.
func runPeer(n int) {
	m := bfdnet.New(bfdnet.Options{})
	for i := range n {
		if err := m.Add(bfdnet.Config{Local: addrB(i), Remote: addrA(i), Interface: "eth0", Profile: fast}); err != nil {
			fmt.Fprintln(os.Stderr, "bench bfd peer:", err)
			os.Exit(1)
		}
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
	m.Close()
}
