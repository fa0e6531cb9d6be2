package layer2

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Address conflict detection: before an interface starts carrying an IP,
// and every ConflictOptions.Interval while it carries one, the announcer
// probes for it (RFC 5227 ARP probe, RFC 4862 duplicate address detection)
// and listens to every ARP packet and Neighbor Advertisement on the
// interface. A host that is neither this node nor a known speaker and
// claims the IP (answers a probe, or sends any ARP or advertisement with
// the IP as its own) puts the IP in conflict on that interface: it is not
// answered there and gets no gratuitous packet, so barelb never takes the
// traffic from a host that had the address first. Once Release probes in
// a row go unanswered, the interface announces the IP again, with the
// normal takeover burst.
//
// A known speaker answering a periodic probe for an IP this node carries
// means two speakers both announce it (a partition): that is reported as
// a SplitBrain conflict, and the IP stays announced; the election settles
// it when the speakers see each other again.

// ConflictOptions configure address conflict detection.
type ConflictOptions struct {
	// Enabled turns detection on. Off, an IP is answered and bursts the
	// moment it is announced, and nothing is probed. The speaker should
	// turn it on only together with SetSpeakerMACs: without the other
	// speakers' MACs, the old owner still answering during a handover
	// looks like a foreign host.
	Enabled bool
	// Wait is how long a newly carried IP is probed before the interface
	// answers for it and sends its burst, and how long each periodic
	// probe waits for answers. A host on the LAN answers within
	// milliseconds; the wait is added to every takeover. Default 200ms.
	Wait time.Duration
	// Probes is how many probes go out during Wait, spread evenly, the
	// first at once, so that one lost frame does not hide a conflict.
	// Default 2.
	Probes int
	// Interval is how often every carried or conflicting IP is probed
	// again. Default 10s.
	Interval time.Duration
	// Release is how many periodic probes in a row must go unanswered
	// before a conflicting IP is announced again. Default 3, so a host
	// that went away is noticed within Release×Interval.
	Release int
	// OnChange is called, from the goroutine that noticed it and without
	// locks held, whenever the list Conflicts returns changes. It must
	// not block for long.
	OnChange func([]Conflict)
}

func (o *ConflictOptions) defaults() {
	if o.Wait <= 0 {
		o.Wait = 200 * time.Millisecond
	}
	if o.Probes <= 0 {
		o.Probes = 2
	}
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.Release <= 0 {
		o.Release = 3
	}
}

// ConflictKind says who else claims an IP.
type ConflictKind string

const (
	// ForeignHost: a host that is not a barelb speaker uses the IP. This
	// node does not announce it on that interface.
	ForeignHost ConflictKind = "ForeignHost"
	// SplitBrain: another speaker answers for an IP this node announces.
	// This node goes on announcing it.
	SplitBrain ConflictKind = "SplitBrain"
)

// Conflict is one IP claimed by another host on one interface.
type Conflict struct {
	IP        netip.Addr
	Interface string
	Kind      ConflictKind
	// MAC is the other host's, as it gave it in the ARP or NDP packet.
	MAC net.HardwareAddr
	// Since is when the conflict was first seen.
	Since time.Time
}

func (c Conflict) equal(o Conflict) bool {
	return c.IP == o.IP && c.Interface == o.Interface && c.Kind == o.Kind &&
		c.MAC.String() == o.MAC.String() && c.Since.Equal(o.Since)
}

func compareConflicts(a, b Conflict) int {
	if c := a.IP.Compare(b.IP); c != 0 {
		return c
	}
	if c := strings.Compare(a.Interface, b.Interface); c != 0 {
		return c
	}
	return strings.Compare(string(a.Kind), string(b.Kind))
}

// guardState is where one IP stands on one interface.
type guardState int

const (
	probing    guardState = iota // newly carried: not answered until Wait passes quietly
	announcing                   // answered and announced
	conflicted                   // a foreign host claims it: silent
)

// guard is the conflict state of one IP on one link. Fields are guarded
// by Announcer.mu.
type guard struct {
	state guardState
	// foreign is the host claiming the IP while conflicted, since when.
	foreign      net.HardwareAddr
	foreignSince time.Time
	// silent counts periodic probes in a row that no foreign host
	// answered while conflicted.
	silent int
	// window is set while a periodic probe waits for answers; heard and
	// speaker collect what arrived meanwhile.
	window  bool
	heard   bool
	speaker net.HardwareAddr
	// speakerRounds counts periodic probes in a row another speaker
	// answered; split is that speaker once it is a split brain.
	speakerRounds int
	split         net.HardwareAddr
	splitSince    time.Time
}

// SetSpeakerMACs replaces the MAC addresses of the other barelb speakers
// (from memberlist node metadata). Their packets are never a ForeignHost
// conflict; this node's own interfaces never are either. A conflict with
// a host that turns out to be a speaker (its metadata came late) ends at
// once: the IP is announced, with a takeover burst.
func (a *Announcer) SetSpeakerMACs(macs []net.HardwareAddr) {
	set := make(map[string]bool, len(macs))
	for _, m := range macs {
		set[strings.ToLower(m.String())] = true
	}
	a.speakers.Store(&set)
	changed := false
	a.mu.Lock()
	for _, l := range a.links {
		for ip, g := range l.guards {
			if g.state != conflicted || !set[strings.ToLower(g.foreign.String())] {
				continue
			}
			g.state, g.foreign, g.silent, changed = announcing, nil, 0, true
			if e := a.announced[ip]; e != nil {
				a.startBurst(l, ip, e.epoch)
			}
		}
	}
	a.mu.Unlock()
	if changed {
		a.noteConflicts()
	}
}

// Conflicts returns every IP another host claims on an interface this
// node would announce it on, sorted by IP, interface and kind.
func (a *Announcer) Conflicts() []Conflict {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.conflictsLocked()
}

func (a *Announcer) conflictsLocked() []Conflict {
	var out []Conflict
	for _, l := range a.links {
		for ip, g := range l.guards {
			if g.state == conflicted {
				out = append(out, Conflict{IP: ip, Interface: l.info.name, Kind: ForeignHost, MAC: g.foreign, Since: g.foreignSince})
			}
			if g.split != nil {
				out = append(out, Conflict{IP: ip, Interface: l.info.name, Kind: SplitBrain, MAC: g.split, Since: g.splitSince})
			}
		}
	}
	slices.SortFunc(out, compareConflicts)
	return out
}

// noteConflicts reports a changed conflict list: metric, log lines and
// ConflictOptions.OnChange. Callers must not hold mu.
func (a *Announcer) noteConflicts() {
	if !a.opts.Conflicts.Enabled {
		return
	}
	a.reportMu.Lock()
	defer a.reportMu.Unlock()
	now := a.Conflicts()
	if slices.EqualFunc(now, a.reported, Conflict.equal) {
		return
	}
	for _, c := range now {
		if !slices.ContainsFunc(a.reported, c.equal) {
			a.log.Info("address conflict: another host claims an IP this node would announce",
				"ip", c.IP, "interface", c.Interface, "kind", c.Kind, "mac", c.MAC.String())
		}
	}
	for _, c := range a.reported {
		if !slices.ContainsFunc(now, func(n Conflict) bool { return compareConflicts(n, c) == 0 }) {
			a.log.Info("address conflict over", "ip", c.IP, "interface", c.Interface, "kind", c.Kind, "mac", c.MAC.String())
		}
	}
	a.reported = now
	a.m.setConflicts(now)
	if a.opts.Conflicts.OnChange != nil {
		a.opts.Conflicts.OnChange(slices.Clone(now))
	}
}

// whose classifies mac for a claim seen on l: "" for this node's own
// interfaces, "speaker" for a known speaker, "foreign" otherwise. Callers
// hold mu.
func (a *Announcer) whose(mac net.HardwareAddr) string {
	for _, u := range a.usable {
		if string(u.mac) == string(mac) {
			return ""
		}
	}
	for _, l := range a.links {
		if string(l.info.mac) == string(mac) {
			return ""
		}
	}
	if s := a.speakers.Load(); s != nil && (*s)[strings.ToLower(mac.String())] {
		return "speaker"
	}
	return "foreign"
}

// claimed handles a packet on l in which the host with mac claims ip
// (answers for it, or sends from it). It reports whether the conflict
// list may have changed.
func (a *Announcer) claimed(l *link, ip netip.Addr, mac net.HardwareAddr) bool {
	if !a.opts.Conflicts.Enabled || len(mac) != 6 {
		return false
	}
	a.mu.RLock()
	g := l.guards[ip]
	kind := ""
	if g != nil {
		kind = a.whose(mac)
	}
	a.mu.RUnlock()
	if kind == "" {
		return false // not an IP we guard here, or our own
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if g != l.guards[ip] {
		return false // dropped meanwhile
	}
	mac = slices.Clone(mac)
	if kind == "speaker" {
		if g.window && g.state == announcing && !a.quiet.Load() {
			g.speaker = mac
		}
		return false
	}
	switch g.state {
	case probing, announcing:
		g.state, g.foreign, g.foreignSince, g.silent = conflicted, mac, time.Now(), 0
		g.split = nil
		return true
	default:
		g.silent, g.heard = 0, true
		if string(g.foreign) != string(mac) {
			g.foreign = mac
			return true
		}
	}
	return false
}
