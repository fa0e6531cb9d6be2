package layer2

import (
	"net/netip"
	"time"
)

// startBurst sends BurstCount gratuitous rounds for ip on l. Callers hold
// mu (for writing) and l is in a.links.
func (a *Announcer) startBurst(l *link, ip netip.Addr, epoch uint64) {
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		t := time.NewTimer(0)
		defer t.Stop()
		for range a.opts.BurstCount {
			select {
			case <-l.ctx.Done():
				return
			case <-t.C:
			}
			if !a.announceOnce(l, ip, epoch) {
				return // dropped, taken over anew, or no longer on l
			}
			t.Reset(a.opts.BurstInterval)
		}
	}()
}

// announceOnce sends one gratuitous round for ip on l if l still carries
// it (and, with epoch > 0, still for the same takeover). It reports
// whether it did.
func (a *Announcer) announceOnce(l *link, ip netip.Addr, epoch uint64) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	e := a.announced[ip]
	if a.quiet.Load() || !a.carries(l, ip, e) || (epoch != 0 && e.epoch != epoch) || l.ctx.Err() != nil {
		return false
	}
	sent := 0
	var err error
	if ip.Is4() {
		sent, err = l.arp.gratuitous(ip)
	} else if err = l.ndp.gratuitous(ip); err == nil {
		sent = 1
	}
	a.m.gratuitous.WithLabelValues(ip.String()).Add(float64(sent))
	if err != nil && l.ctx.Err() == nil {
		a.log.Error(err, "cannot send gratuitous announcement", "ip", ip, "interface", l.info.name)
	}
	return true
}

// refresh re-announces every carried IP once, so that switches and
// neighbours whose entries aged out learn the binding again.
func (a *Announcer) refresh() {
	type job struct {
		l  *link
		ip netip.Addr
	}
	var jobs []job
	a.mu.RLock()
	for _, l := range a.links {
		for ip, e := range a.announced {
			if a.carries(l, ip, e) {
				jobs = append(jobs, job{l, ip})
			}
		}
	}
	a.mu.RUnlock()
	for _, j := range jobs {
		a.announceOnce(j.l, j.ip, 0)
	}
}

// Reassert sends a fresh gratuitous burst for every IP this node carries.
// Another node may have announced one of them for a moment (a membership
// flap when a partition heals: the returning node's stale "dead" gossip
// makes the others drop a live member until it refutes). That node's
// burst moved the LAN's caches to it and it went quiet again; only the
// real owner announcing once more moves them back before they time out.
func (a *Announcer) Reassert() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, l := range a.links {
		for ip, e := range a.announced {
			if a.carries(l, ip, e) {
				a.startBurst(l, ip, e.epoch)
			}
		}
	}
}

// Quiet makes this node stop sending gratuitous packets for good, bursts
// already under way included, while it goes on answering requests for
// what it carries. A speaker handing over calls it: the new owners' bursts
// move the LAN's neighbour caches to them, and one more gratuitous packet
// from the leaving node (its own takeover burst, if it took an IP over
// moments before) would move a client back mid-handshake, so the SYN and
// the ACK reach different nodes and the connection is reset.
func (a *Announcer) Quiet() { a.quiet.Store(true) }
