package layer2

import (
	"errors"

	"github.com/mdlayher/arp"
)

// The readers. Each holds Announcer.mu for reading while it decides and
// answers, so once SetAnnounced has swapped the set, no answer for a
// dropped IP can still be on its way out.

func (a *Announcer) serveARP(l *link) {
	defer l.wg.Done()
	buf := make([]byte, 1600)
	for {
		p, from, err := l.arp.read(buf)
		if errors.Is(err, errNotARP) {
			continue
		}
		if err != nil {
			a.readFailed(l, "arp", err)
			return
		}
		// Whoever sends an ARP packet from an address claims it: an
		// answer to our probe, a gratuitous announcement, or a request
		// the host makes using it.
		if p.SenderIP.IsValid() && !p.SenderIP.IsUnspecified() && a.claimed(l, p.SenderIP, p.SenderHardwareAddr) {
			a.noteConflicts()
		}
		if p.Operation == arp.OperationRequest {
			a.answerARP(l, p, from)
		}
	}
}

func (a *Announcer) answerARP(l *link, req *arp.Packet, from []byte) {
	ip := req.TargetIP
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.carries(l, ip, a.announced[ip]) {
		return // not ours, or not on this interface
	}
	if req.SenderIP == ip {
		// Someone else announces our IP: answering would only fight it.
		a.log.V(1).Info("another host announces an IP this node announces", "ip", ip, "interface", l.info.name, "mac", req.SenderHardwareAddr.String())
		return
	}
	label := ip.String()
	a.m.requests.WithLabelValues(label).Inc()
	if err := l.arp.reply(req, from, ip); err != nil {
		a.log.Error(err, "cannot send ARP reply", "ip", ip, "interface", l.info.name)
		return
	}
	a.m.responses.WithLabelValues(label).Inc()
}

func (a *Announcer) serveNDP(l *link) {
	defer l.wg.Done()
	buf := make([]byte, max(l.info.mtu+ethHeaderLen, 1600))
	for {
		m, err := l.ndp.read(buf)
		if errors.Is(err, errNotND) {
			continue
		}
		if err != nil {
			a.readFailed(l, "ndp", err)
			return
		}
		// An advertisement claims its target; a solicitation claims its
		// source address (the host uses it), not a DAD probe's target.
		claim := m.src
		if m.advert {
			claim = m.target
		}
		if !claim.IsUnspecified() && a.claimed(l, claim, m.mac) {
			a.noteConflicts()
		}
		if !m.advert {
			a.answerNDP(l, m)
		}
	}
}

func (a *Announcer) answerNDP(l *link, s ndMessage) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if !a.carries(l, s.target, a.announced[s.target]) {
		return
	}
	label := s.target.String()
	a.m.requests.WithLabelValues(label).Inc()
	if err := l.ndp.reply(s); err != nil {
		a.log.Error(err, "cannot send neighbor advertisement", "ip", s.target, "interface", l.info.name)
		return
	}
	a.m.responses.WithLabelValues(label).Inc()
}

// readFailed handles a socket error: expected when the link is being
// closed; otherwise (the interface went down under us, say) the link is
// marked for replacement at the next rescan, which is requested now.
func (a *Announcer) readFailed(l *link, proto string, err error) {
	if l.ctx.Err() != nil {
		return
	}
	a.log.V(1).Info("responder socket failed, rescanning", "interface", l.info.name, "protocol", proto, "error", err.Error())
	l.failed.Store(true)
	a.poke()
}
