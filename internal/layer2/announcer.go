package layer2

import (
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
)

// Announcement says how one IP may be announced.
type Announcement struct {
	// Interfaces limits the interfaces that may carry the IP
	// (L2Advertisement.spec.interfaces). Empty means every usable interface
	// that Options.Ignore does not skip.
	Interfaces []string
}

// Options tune an Announcer. The zero value is valid.
type Options struct {
	// BurstCount and BurstInterval shape the gratuitous burst sent when
	// this node takes over an IP (or an interface starts carrying it):
	// BurstCount rounds, BurstInterval apart, the first at once. The
	// spread covers a lost first packet and outlasts the one-second ARP
	// locktime during which older Linux kernels ignore a changed address
	// even from a gratuitous ARP. Defaults: 5 and 400ms.
	BurstCount    int
	BurstInterval time.Duration
	// RefreshInterval is how often every announced IP is re-announced
	// once, so switches do not age its MAC out. Default 30s.
	RefreshInterval time.Duration
	// RescanInterval is how often interfaces are listed again even without
	// a netlink notification. Default 10s.
	RescanInterval time.Duration
	// Ignore reports interfaces that announcements without an interface
	// list skip; an announcement that names one still uses it. Nil means
	// DefaultIgnore.
	Ignore func(ifname string) bool
	// OnChange is called from Run after a rescan changed the usable
	// interfaces or where announced IPs are carried. It must not block
	// for long; Announced and Interfaces give the details.
	OnChange func(Change)
	// InNamespace, if set, runs every function that opens a socket or a
	// netlink handle, so the Announcer can serve another network
	// namespace than the calling thread's (tests pass netlab's
	// Namespace.Do). Nil runs them directly.
	InNamespace func(func() error) error
	// Conflicts configures address conflict detection (conflict.go); off
	// unless Conflicts.Enabled.
	Conflicts ConflictOptions
}

// Change is what a rescan found.
type Change struct {
	// Up and Down name interfaces that became usable or stopped being
	// usable (went down, lost carrier, were enslaved or deleted). An
	// interface that flapped between two rescans is in both.
	Up, Down []string
	// Lost lists announced IPs that were carried on some interface and
	// now are carried on none: this node can no longer announce them and
	// should stop being eligible.
	Lost []netip.Addr
	// Links is set when LinkStates changed (an interface's state or
	// addresses): the speaker should gossip the new list.
	Links bool
}

func (c Change) empty() bool { return len(c.Up)+len(c.Down)+len(c.Lost) == 0 && !c.Links }

// Announcer answers ARP and Neighbor Solicitations for the IPs it is told
// to announce, on every usable interface allowed for each.
type Announcer struct {
	log     logr.Logger
	opts    Options
	m       *metrics
	kick    chan struct{}
	started atomic.Bool
	// quiet stops every gratuitous packet (bursts under way, refreshes,
	// reasserts) while requests are still answered: see Quiet.
	quiet atomic.Bool
	// speakers holds the other speakers' MACs, lower case (SetSpeakerMACs).
	speakers atomic.Pointer[map[string]bool]

	// reportMu orders conflict reports; reported is the last list.
	reportMu sync.Mutex
	reported []Conflict

	mu        sync.RWMutex
	announced map[netip.Addr]*entry
	epoch     uint64
	links     map[int]*link           // interfaces with running responders
	usable    map[int]linkInfo        // every usable interface at the last scan
	carried   map[netip.Addr][]string // as last computed, to detect Lost
	states    []LinkState             // as last computed, for LinkStates
}

// entry is one announced IP. epoch changes only when the IP is newly
// taken over, so a burst in progress knows when it has been superseded.
type entry struct {
	ann   Announcement
	epoch uint64
}

// New creates an Announcer; it answers nothing until Run starts. Metrics
// are registered with reg unless it is nil.
func New(log logr.Logger, reg prometheus.Registerer, opts Options) (*Announcer, error) {
	if opts.BurstCount <= 0 {
		opts.BurstCount = 5
	}
	if opts.BurstInterval <= 0 {
		opts.BurstInterval = 400 * time.Millisecond
	}
	if opts.RefreshInterval <= 0 {
		opts.RefreshInterval = 30 * time.Second
	}
	if opts.RescanInterval <= 0 {
		opts.RescanInterval = 10 * time.Second
	}
	if opts.Ignore == nil {
		opts.Ignore = DefaultIgnore
	}
	opts.Conflicts.defaults()
	if opts.InNamespace == nil {
		opts.InNamespace = func(f func() error) error { return f() }
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Announcer{
		log:       log,
		opts:      opts,
		m:         m,
		kick:      make(chan struct{}, 1),
		announced: map[netip.Addr]*entry{},
		links:     map[int]*link{},
		usable:    map[int]linkInfo{},
		carried:   map[netip.Addr][]string{},
	}, nil
}

// SetAnnounced replaces the set of announced IPs. When it returns, IPs no
// longer in the set are not answered any more; IPs new to the set are
// answered and get a gratuitous burst on every interface that carries
// them (with conflict detection on, only after Conflicts.Wait passes
// without another host claiming them). Invalid addresses are skipped;
// IPv4-mapped IPv6 addresses count as IPv4 and zones are dropped.
func (a *Announcer) SetAnnounced(set map[netip.Addr]Announcement) {
	a.mu.Lock()
	next := make(map[netip.Addr]*entry, len(set))
	for ip, ann := range set {
		ip = ip.Unmap().WithZone("")
		if !ip.IsValid() || ip.IsUnspecified() || ip.IsMulticast() {
			a.log.Info("ignoring an address that cannot be announced", "ip", ip)
			continue
		}
		e := &entry{ann: Announcement{Interfaces: slices.Clone(ann.Interfaces)}}
		if prev := a.announced[ip]; prev != nil {
			e.epoch = prev.epoch
		} else {
			a.epoch++
			e.epoch = a.epoch
		}
		next[ip] = e
	}
	prev := a.announced
	a.announced = next
	for ip := range prev {
		if next[ip] == nil {
			a.m.forget(ip)
		}
	}
	a.m.announced.Set(float64(len(next)))

	for _, l := range a.links {
		a.dropGuards(l)
		for ip, e := range next {
			if !a.eligible(l, ip, e) {
				continue
			}
			if p := prev[ip]; p != nil && a.eligible(l, ip, p) {
				continue
			}
			a.beginCarrying(l, ip, e)
		}
		a.syncGroups(l)
	}
	a.carried = a.carriedLocked(a.eligible)
	wakeScan := a.needsScanLocked()
	a.mu.Unlock()
	if wakeScan {
		a.poke()
	}
	a.noteConflicts()
}

// Announced returns every announced IP with the interfaces that carry it
// now, sorted; an IP no interface carries has an empty list. The speaker
// writes this into ServiceL2Status. An interface still probing for the IP
// counts (it answers within Conflicts.Wait); one where another host
// claims it (Conflicts) does not.
func (a *Announcer) Announced() map[netip.Addr][]string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.carriedLocked(a.listed)
}

// Interfaces returns the interfaces that would carry ip under ann right
// now, whether or not ip is announced: empty means this node cannot
// announce it and should not be eligible.
func (a *Announcer) Interfaces(ip netip.Addr, ann Announcement) []string {
	ip = ip.Unmap()
	a.mu.RLock()
	defer a.mu.RUnlock()
	var out []string
	for idx, info := range a.usable {
		if !a.allowed(ann, info.name) {
			continue
		}
		if l := a.links[idx]; l != nil && !l.speaks(ip) {
			continue
		}
		out = append(out, info.name)
	}
	slices.Sort(out)
	return out
}

// allowed reports whether ann lets interface name carry its IP.
func (a *Announcer) allowed(ann Announcement, name string) bool {
	if len(ann.Interfaces) == 0 {
		return !a.opts.Ignore(name)
	}
	return slices.Contains(ann.Interfaces, name)
}

// eligible reports whether running link l may carry ip (announced as e).
// Callers hold mu.
func (a *Announcer) eligible(l *link, ip netip.Addr, e *entry) bool {
	return e != nil && l.speaks(ip) && a.allowed(e.ann, l.info.name)
}

// carries reports whether running link l answers and announces ip: it
// may, and conflict detection (if on) found nobody else using it. Callers
// hold mu.
func (a *Announcer) carries(l *link, ip netip.Addr, e *entry) bool {
	if !a.eligible(l, ip, e) {
		return false
	}
	if !a.opts.Conflicts.Enabled {
		return true
	}
	g := l.guards[ip]
	return g != nil && g.state == announcing
}

// listed reports whether Announced names l for ip: l carries it or is
// still probing for it.
func (a *Announcer) listed(l *link, ip netip.Addr, e *entry) bool {
	if !a.eligible(l, ip, e) {
		return false
	}
	g := l.guards[ip]
	return !a.opts.Conflicts.Enabled || g != nil && g.state != conflicted
}

func (a *Announcer) carriedLocked(on func(*link, netip.Addr, *entry) bool) map[netip.Addr][]string {
	out := make(map[netip.Addr][]string, len(a.announced))
	for ip, e := range a.announced {
		names := []string{}
		for _, l := range a.links {
			if on(l, ip, e) {
				names = append(names, l.info.name)
			}
		}
		slices.Sort(names)
		out[ip] = names
	}
	return out
}

// needsScanLocked reports whether an announcement names a usable interface
// that has no responders yet because Ignore skips it.
func (a *Announcer) needsScanLocked() bool {
	for idx, info := range a.usable {
		if a.links[idx] == nil && a.wanted(info.name) {
			return true
		}
	}
	return false
}

// wanted reports whether interface name should run responders: when some
// announcement without a list may use it, or some announcement names it.
func (a *Announcer) wanted(name string) bool {
	if !a.opts.Ignore(name) {
		return true
	}
	for _, e := range a.announced {
		if slices.Contains(e.ann.Interfaces, name) {
			return true
		}
	}
	return false
}

// syncGroups makes l's NDP socket a member of the solicited-node groups of
// the IPv6 addresses it carries. Callers hold mu.
func (a *Announcer) syncGroups(l *link) {
	if l.ndp == nil {
		return
	}
	var ips []netip.Addr
	for ip, e := range a.announced {
		if ip.Is6() && a.eligible(l, ip, e) {
			ips = append(ips, ip)
		}
	}
	if err := l.ndp.setGroups(ips); err != nil {
		a.log.Error(err, "cannot join solicited-node multicast groups", "interface", l.info.name)
	}
}

// poke asks Run for a rescan without blocking.
func (a *Announcer) poke() {
	select {
	case a.kick <- struct{}{}:
	default:
	}
}
