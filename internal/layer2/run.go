package layer2

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Run follows the node's interfaces and keeps a responder pair on each
// usable one until ctx ends, then closes every socket. It returns an error
// only if it cannot start (no netlink access), and may be called once.
func (a *Announcer) Run(ctx context.Context) error {
	if !a.started.CompareAndSwap(false, true) {
		return errors.New("layer2: Run called twice")
	}
	var h *netlink.Handle
	if err := a.opts.InNamespace(func() (err error) {
		h, err = netlink.NewHandle()
		return err
	}); err != nil {
		return err
	}
	defer h.Close()
	defer a.closeAll()

	sub := a.subscribe()
	defer func() { sub.stop() }() // sub is replaced when renewed

	rescan := time.NewTicker(a.opts.RescanInterval)
	defer rescan.Stop()
	refresh := time.NewTicker(a.opts.RefreshInterval)
	defer refresh.Stop()

	a.reconcile(ctx, h, nil)
	for {
		select {
		case <-ctx.Done():
			return nil
		case u, ok := <-sub.updates:
			if !ok {
				a.log.Info("link subscription ended; relying on the periodic rescan until it is renewed")
				sub.updates = nil
				continue
			}
			a.reconcile(ctx, h, sub.drain(u))
		case <-a.kick:
			a.reconcile(ctx, h, nil)
		case <-rescan.C:
			if sub.updates == nil {
				sub.stop()
				sub = a.subscribe()
			}
			a.reconcile(ctx, h, nil)
		case <-refresh.C:
			a.refresh()
		}
	}
}

// subscription is a netlink link subscription; updates is nil when it
// could not be made or has ended.
type subscription struct {
	updates chan netlink.LinkUpdate
	done    chan struct{}
}

func (a *Announcer) subscribe() *subscription {
	s := &subscription{done: make(chan struct{})}
	ch := make(chan netlink.LinkUpdate, 64)
	err := a.opts.InNamespace(func() error {
		return netlink.LinkSubscribeWithOptions(ch, s.done, netlink.LinkSubscribeOptions{
			ErrorCallback: func(err error) { a.log.V(1).Info("link subscription error", "error", err.Error()) },
		})
	})
	if err != nil {
		a.log.Error(err, "cannot subscribe to link changes; relying on the periodic rescan")
		close(s.done)
		s.done = nil
		return s
	}
	s.updates = ch
	return s
}

// drain collects first and every update already queued behind it: the
// indexes of links they report deleted or not usable, so that a link that
// went down and came back before the rescan is still restarted (and
// bursts again).
func (s *subscription) drain(first netlink.LinkUpdate) map[int]bool {
	down := map[int]bool{}
	note := func(u netlink.LinkUpdate) {
		if u.Header.Type == unix.RTM_DELLINK || stateReason(u.Link.Attrs()) != "" {
			down[u.Link.Attrs().Index] = true
		}
	}
	note(first)
	for {
		select {
		case u, ok := <-s.updates:
			if !ok {
				return down
			}
			note(u)
		default:
			return down
		}
	}
}

// stop ends the subscription; it is safe to call more than once.
func (s *subscription) stop() {
	if s.done == nil {
		return
	}
	close(s.done)
	s.done = nil
	if s.updates != nil {
		// netlink's reader may be blocked handing us an update: drain
		// until it closes the channel.
		go func(ch chan netlink.LinkUpdate) {
			for range ch {
			}
		}(s.updates)
		s.updates = nil
	}
}

// reconcile lists the interfaces and makes the running responders match:
// stops those on interfaces that are gone, unusable, renamed, readdressed,
// broken or reported down in between, and starts those that are missing.
func (a *Announcer) reconcile(ctx context.Context, h *netlink.Handle, down map[int]bool) {
	list, err := h.LinkList()
	if err != nil {
		a.log.Error(err, "cannot list interfaces")
		return
	}
	usable, unusable := usableLinks(list)
	addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		a.log.Error(err, "cannot list addresses")
	}

	a.mu.Lock()
	var stop []*link
	reasons := map[*link]string{}
	for idx, l := range a.links {
		if r := a.stopReason(l, usable, unusable, down[idx]); r != "" {
			delete(a.links, idx)
			stop = append(stop, l)
			reasons[l] = r
		}
	}
	var start []linkInfo
	for idx, info := range usable {
		if a.links[idx] == nil && a.wanted(info.name) {
			start = append(start, info)
		}
	}
	prevUsable := a.usable
	a.usable = usable
	a.mu.Unlock()

	for _, l := range stop {
		l.close()
		a.log.Info("stopped responders", "interface", l.info.name, "reason", reasons[l])
	}
	var opened []*link
	for _, info := range start {
		l, err := openLink(ctx, info, a.opts.InNamespace)
		if err != nil {
			a.log.Error(err, "cannot open responder sockets", "interface", info.name)
		}
		if l != nil {
			opened = append(opened, l)
			a.log.Info("started responders", "interface", info.name, "arp", l.arp != nil, "ndp", l.ndp != nil)
		}
	}

	a.mu.Lock()
	for _, l := range opened {
		a.links[l.info.index] = l
		if l.arp != nil {
			l.wg.Add(1)
			go a.serveARP(l)
		}
		if l.ndp != nil {
			l.wg.Add(1)
			go a.serveNDP(l)
		}
		if a.opts.Conflicts.Enabled {
			l.wg.Add(1)
			go a.reprobe(l)
		}
		a.syncGroups(l)
		for ip, e := range a.announced {
			if a.eligible(l, ip, e) {
				a.beginCarrying(l, ip, e)
			}
		}
	}
	carried := a.carriedLocked(a.eligible)
	change := Change{}
	changed := false
	for ip, names := range carried {
		if !slices.Equal(names, a.carried[ip]) {
			changed = true
			if len(names) == 0 && len(a.carried[ip]) > 0 {
				change.Lost = append(change.Lost, ip)
			}
		}
	}
	a.carried = carried
	states := linkStates(list, addrs, usable, a.states, a.wanted)
	change.Links = !slices.EqualFunc(states, a.states, LinkState.equal)
	a.states = states
	a.mu.Unlock()
	a.noteConflicts()

	for idx, info := range usable {
		if p, ok := prevUsable[idx]; !ok || p.name != info.name || down[idx] {
			change.Up = append(change.Up, info.name)
		}
	}
	for idx, info := range prevUsable {
		if u, ok := usable[idx]; !ok || u.name != info.name || down[idx] {
			change.Down = append(change.Down, info.name)
		}
	}
	slices.Sort(change.Up)
	slices.Sort(change.Down)
	slices.SortFunc(change.Lost, netip.Addr.Compare)
	if (changed || !change.empty()) && a.opts.OnChange != nil {
		a.opts.OnChange(change)
	}
}

// stopReason says why running link l must stop (or restart), "" if it
// may keep running. Callers hold mu.
func (a *Announcer) stopReason(l *link, usable map[int]linkInfo, unusable map[string]string, flapped bool) string {
	info, ok := usable[l.info.index]
	switch {
	case !ok && unusable[l.info.name] != "":
		return unusable[l.info.name]
	case !ok:
		return "deleted"
	case info.name != l.info.name:
		return "renamed to " + info.name
	case string(info.mac) != string(l.info.mac):
		return "MAC changed"
	case flapped:
		return "went down and up"
	case l.failed.Load():
		return "socket failed"
	case !a.wanted(info.name):
		return "skipped and no longer named"
	}
	return ""
}

// closeAll stops every responder when Run ends.
func (a *Announcer) closeAll() {
	a.mu.Lock()
	links := a.links
	a.links = map[int]*link{}
	a.usable = map[int]linkInfo{}
	a.carried = a.carriedLocked(a.eligible)
	a.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	a.noteConflicts()
}
