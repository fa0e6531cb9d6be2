package e2e

import (
	"fmt"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/check"
)

// outage is how long the API server stays away (the 30 seconds).
const outage = 30 * time.Second

// maxGap is the longest the client may go without an answer from an LB IP.
const maxGap = 2 * time.Second

// TestLBAPIServerOutage: with kube-apiserver stopped for 30 seconds the
// speakers keep announcing and kube-proxy keeps forwarding, so the client
// reaches every LoadBalancer IP throughout (no gap between answers longer
// than 2s), one node answering ARP/NDP for each; once the API server is
// back, a Service created then gets an address and is reachable.
func TestLBAPIServerOutage(t *testing.T) {
	l := lbLab(t)
	defer timed("lb: kube-apiserver away 30s")()
	const ns, pool = "lb-outage", "e2e-lb-outage"
	lbPool(t, l, pool, "198.18.1.190-198.18.1.192", "2001:db8:1::190-2001:db8:1::192")
	lbNamespace(t, l, ns, 2, "")
	applyYAML(t, l, lbServiceYAML(ns, "web", pool, 80, nil, "  ipFamilyPolicy: RequireDualStack\n  ipFamilies: [IPv4, IPv6]"))
	pods := readyPods(t, l, ns, "app=web", 2)
	ips := lbIPs(t, l, ns, "web", 2)
	for _, ip := range ips {
		backends(t, l.ClientNS, lab.URL(ip, 80), names(pods))
	}
	oneAnswerer(t, l, ips...)

	probes := make([]*reachProbe, len(ips))
	for i, ip := range ips {
		probes[i] = startReachProbe(l, ip)
	}
	stopProbes := func() {
		for _, p := range probes {
			p.stop()
		}
	}
	defer stopProbes()
	for _, p := range probes {
		p.waitAnswer(t)
	}

	began := time.Now()
	l.APIServer.Stop()
	if l.APIServer.Running() {
		t.Fatal("kube-apiserver still running after Stop")
	}
	t.Logf("kube-apiserver stopped (took %.1fs)", time.Since(began).Seconds())
	// Half-way through, one node must still answer for each address.
	mid := time.NewTimer(outage / 2)
	<-mid.C
	oneAnswerer(t, l, ips...)
	end := time.NewTimer(time.Until(began.Add(outage)))
	<-end.C
	if err := l.APIServer.Start(); err != nil {
		t.Fatal(err)
	}
	if err := l.WaitAPIServer(ctx(t)); err != nil {
		t.Fatal(err)
	}
	t.Logf("kube-apiserver back after %.1fs", time.Since(began).Seconds())

	// A change after the outage is applied: a new Service gets an address
	// and answers.
	applyYAML(t, l, lbServiceYAML(ns, "after", pool, 80, nil, "  ipFamilyPolicy: SingleStack\n  ipFamilies: [IPv4]"))
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := l.Kubectl(ctx(t), "describe", "svc", "-n", ns, "after")
			t.Logf("controller running: %v\n%s", l.Controller.Running(), out)
		}
	})
	// client-go's watch back-off has grown to its 30s cap during the
	// outage, so controllers (barelb's and kube-controller-manager's) may
	// take that long to list again.
	began = time.Now()
	after := lbIPsWithin(t, l, ns, "after", 1, 90*time.Second)[0]
	t.Logf("Service created after the outage got %s in %.1fs", after, time.Since(began).Seconds())
	backends(t, l.ClientNS, lab.URL(after, 80), names(pods))
	for _, ip := range ips {
		if ip == after {
			t.Errorf("new Service got %s, already held by web", after)
		}
	}
	oneAnswerer(t, l, append(ips, after)...)

	stopProbes()
	for _, p := range probes {
		gap, ok, failed := p.result()
		t.Logf("%s during the outage: %d answers, %d failed tries, longest failure window %.2fs", p.ip, ok, failed, gap.Seconds())
		if gap > maxGap {
			t.Errorf("%s: no answer for %.2fs (at most %v allowed)", p.ip, gap.Seconds(), maxGap)
		}
	}
}

// reachProbe curls one address from the client every 200ms and keeps the
// longest failure window: from the last answer before a failed try to the
// next answer. Time between answers with no failed try in between is not a
// window: on 2 busy cores (the API server starting) spawning curl alone
// can take seconds.
type reachProbe struct {
	ip    netip.Addr
	stopc chan struct{}
	done  chan struct{}

	mu           sync.Mutex
	last         time.Time // last answer
	failing      bool      // a try failed since the last answer
	gap          time.Duration
	ok, failures int
}

func startReachProbe(l *lab.Lab, ip netip.Addr) *reachProbe {
	p := &reachProbe{ip: ip, stopc: make(chan struct{}), done: make(chan struct{})}
	url := lab.URL(ip, 80)
	go func() {
		defer close(p.done)
		tick := time.NewTicker(200 * time.Millisecond)
		defer tick.Stop()
		for {
			err := exec.Command("ip", "netns", "exec", l.ClientNS.Name,
				"curl", "-sS", "-o", "/dev/null", "--connect-timeout", "1", "--max-time", "2", url).Run()
			now := time.Now()
			p.mu.Lock()
			if err != nil {
				p.failures++
				p.failing = true
			} else {
				if p.failing && !p.last.IsZero() && now.Sub(p.last) > p.gap {
					p.gap = now.Sub(p.last)
				}
				p.last, p.failing = now, false
				p.ok++
			}
			p.mu.Unlock()
			select {
			case <-p.stopc:
				return
			case <-tick.C:
			}
		}
	}()
	return p
}

// waitAnswer waits for the probe's first answer.
func (p *reachProbe) waitAnswer(t *testing.T) {
	t.Helper()
	check.Eventually(t, 10*time.Second, "a first answer from "+p.ip.String(), func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.ok == 0 {
			return fmt.Errorf("%d failed tries", p.failures)
		}
		return nil
	})
}

func (p *reachProbe) stop() {
	select {
	case <-p.stopc:
	default:
		close(p.stopc)
	}
	<-p.done
}

// result is the longest failure window (including one still open at the
// probe's end), the answers and the failed tries.
func (p *reachProbe) result() (time.Duration, int, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gap := p.gap
	if tail := time.Since(p.last); p.failing && tail > gap {
		gap = tail
	}
	return gap, p.ok, p.failures
}
