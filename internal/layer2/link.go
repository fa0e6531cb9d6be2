package layer2

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
)

// link is a usable interface with its responders running. Either socket
// may be missing (no IPv6 on the interface, say); the interface then
// carries only the other family.
type link struct {
	info linkInfo
	arp  *arpConn
	ndp  *ndpConn

	ctx    context.Context
	cancel context.CancelFunc
	// wg counts the readers and bursts using the sockets. Add is only
	// called with Announcer.mu held and the link in Announcer.links, and
	// close runs after removing it from there, so no Add races the Wait.
	wg sync.WaitGroup
	// failed is set by a reader whose socket broke, so the next rescan
	// replaces the link.
	failed atomic.Bool
	// guards is the conflict state of each IP the link may carry, while
	// conflict detection is on (Announcer.mu guards it).
	guards map[netip.Addr]*guard
}

// speaks reports whether the link has a responder for ip's family.
func (l *link) speaks(ip netip.Addr) bool {
	if ip.Is4() {
		return l.arp != nil
	}
	return l.ndp != nil
}

// openLink opens the responders' sockets. It fails only when neither
// family could be served; the error then says why for both.
func openLink(parent context.Context, info linkInfo, inNS func(func() error) error) (*link, error) {
	l := &link{info: info, guards: map[netip.Addr]*guard{}}
	var arpErr, ndpErr error
	err := inNS(func() error {
		l.arp, arpErr = listenARP(info.netInterface())
		l.ndp, ndpErr = listenNDP(info.netInterface())
		return nil
	})
	if err != nil {
		l.closeSockets()
		return nil, err
	}
	if l.arp == nil && l.ndp == nil {
		return nil, errors.Join(arpErr, ndpErr)
	}
	l.ctx, l.cancel = context.WithCancel(parent)
	return l, errors.Join(arpErr, ndpErr)
}

func (l *link) closeSockets() {
	if l.arp != nil {
		l.arp.Close()
	}
	if l.ndp != nil {
		l.ndp.Close()
	}
}

// close stops the readers and bursts and closes the sockets.
func (l *link) close() {
	l.cancel()
	l.closeSockets() // unblocks the readers
	l.wg.Wait()
}
