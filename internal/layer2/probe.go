package layer2

import (
	"net/netip"
	"time"
)

// beginCarrying starts l carrying ip: at once, with a takeover burst,
// without conflict detection; otherwise after a quiet probe (see
// ConflictOptions). Callers hold mu (for writing) and l is in a.links.
func (a *Announcer) beginCarrying(l *link, ip netip.Addr, e *entry) {
	if !a.opts.Conflicts.Enabled {
		a.startBurst(l, ip, e.epoch)
		return
	}
	if l.guards[ip] != nil {
		return
	}
	g := &guard{state: probing}
	l.guards[ip] = g
	l.wg.Add(1)
	go a.firstProbe(l, ip, g)
}

// dropGuards forgets the guards of IPs l no longer may carry. It reports
// whether one of them was in conflict. Callers hold mu for writing.
func (a *Announcer) dropGuards(l *link) bool {
	changed := false
	for ip, g := range l.guards {
		if !a.eligible(l, ip, a.announced[ip]) {
			changed = changed || g.state == conflicted || g.split != nil
			delete(l.guards, ip)
		}
	}
	return changed
}

// firstProbe probes for ip on l for Wait; if no foreign host claimed it
// meanwhile, l starts answering for it and sends the takeover burst.
func (a *Announcer) firstProbe(l *link, ip netip.Addr, g *guard) {
	defer l.wg.Done()
	c := a.opts.Conflicts
	step := c.Wait / time.Duration(c.Probes)
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 0; i < c.Probes; i++ {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		if !a.stillGuarding(l, ip, g) {
			return
		}
		a.probe(l, ip)
		t.Reset(step)
	}
	select {
	case <-l.ctx.Done():
		return
	case <-t.C:
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.announced[ip]
	if l.guards[ip] != g || g.state != probing || l.ctx.Err() != nil || e == nil {
		return // dropped, or a foreign host answered (claimed reported it)
	}
	g.state = announcing
	a.startBurst(l, ip, e.epoch)
}

func (a *Announcer) stillGuarding(l *link, ip netip.Addr, g *guard) bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return l.guards[ip] == g
}

// probe sends one probe for ip on l and counts it.
func (a *Announcer) probe(l *link, ip netip.Addr) {
	var err error
	if ip.Is4() {
		err = l.arp.probe(ip)
	} else {
		err = l.ndp.probe(ip)
	}
	if err != nil {
		if l.ctx.Err() == nil {
			a.log.Error(err, "cannot send address probe", "ip", ip, "interface", l.info.name)
		}
		return
	}
	a.m.probes.WithLabelValues(ip.String()).Inc()
}

// reprobe runs on every link while conflict detection is on: each
// Interval it probes every IP the link guards, then after Wait settles
// what the answers said. A conflicting IP nobody answered Release times
// in a row is announced again; an IP another speaker answered for is a
// split brain until a probe goes unanswered by speakers.
func (a *Announcer) reprobe(l *link) {
	defer l.wg.Done()
	c := a.opts.Conflicts
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	wait := time.NewTimer(0)
	defer wait.Stop()
	<-wait.C
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-tick.C:
		}
		guards := map[netip.Addr]*guard{}
		a.mu.Lock()
		for ip, g := range l.guards {
			if g.state != probing {
				g.window, g.heard, g.speaker = true, false, nil
				guards[ip] = g
			}
		}
		a.mu.Unlock()
		if len(guards) == 0 {
			continue
		}
		for i := 0; i < c.Probes; i++ {
			for ip := range guards {
				a.probe(l, ip)
			}
			wait.Reset(c.Wait / time.Duration(c.Probes))
			select {
			case <-l.ctx.Done():
				return
			case <-wait.C:
			}
		}
		if a.settleProbes(l, guards) {
			a.noteConflicts()
		}
	}
}

// splitAfter is how many periodic probes in a row another speaker must
// answer before it counts as a split brain: a handover, where the leaving
// speaker answers for a second or two (and a lagging one for as long as
// its view of the membership lags), then never is one at the default
// Interval.
const splitAfter = 2

// settleProbes closes the probe window of guards and acts on what it
// collected. It reports whether the conflict list may have changed.
func (a *Announcer) settleProbes(l *link, guards map[netip.Addr]*guard) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	changed := false
	for ip, g := range guards {
		if l.guards[ip] != g {
			continue
		}
		g.window = false
		switch g.state {
		case conflicted:
			if g.heard {
				continue
			}
			if g.silent++; g.silent < a.opts.Conflicts.Release {
				continue
			}
			g.state, g.foreign, g.silent = announcing, nil, 0
			changed = true
			if e := a.announced[ip]; e != nil {
				a.startBurst(l, ip, e.epoch)
			}
		case announcing:
			if g.speaker == nil {
				g.speakerRounds = 0
				if g.split != nil {
					g.split, changed = nil, true
				}
				continue
			}
			if g.speakerRounds++; g.speakerRounds < splitAfter {
				continue
			}
			switch {
			case g.split == nil:
				g.split, g.splitSince, changed = g.speaker, time.Now(), true
			case string(g.speaker) != string(g.split):
				g.split, changed = g.speaker, true
			}
		}
	}
	return changed
}
