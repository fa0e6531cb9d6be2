package bgp

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/netlab"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// routeWatch follows the kernel routing table of a namespace through a
// netlink subscription, so the benchmark times route installation and
// removal as they happen instead of polling FRR.
type routeWatch struct {
	mu     sync.Mutex
	cond   *sync.Cond
	routes map[netip.Prefix]routeSeen
	done   chan struct{}
	err    error
}

type routeSeen struct {
	nexthops int
	at       time.Time // time of the last change
}

func watchRoutes(t testing.TB, ns *netlab.Namespace) *routeWatch {
	t.Helper()
	h, err := netns.GetFromName(ns.Name)
	check.Must(t, err)
	w := &routeWatch{routes: map[netip.Prefix]routeSeen{}, done: make(chan struct{})}
	w.cond = sync.NewCond(&w.mu)
	ch := make(chan netlink.RouteUpdate, 4096)
	err = netlink.RouteSubscribeWithOptions(ch, w.done, netlink.RouteSubscribeOptions{
		Namespace:         &h,
		ReceiveBufferSize: 8 << 20,
		ErrorCallback: func(err error) {
			w.mu.Lock()
			w.err = err
			w.cond.Broadcast()
			w.mu.Unlock()
		},
	})
	h.Close()
	check.Must(t, err)
	go func() {
		for u := range ch {
			now := time.Now()
			if u.Dst == nil {
				continue
			}
			ip, ok := netip.AddrFromSlice(u.Dst.IP)
			if !ok {
				continue
			}
			ones, _ := u.Dst.Mask.Size()
			p := netip.PrefixFrom(ip.Unmap(), ones)
			w.mu.Lock()
			switch u.Type {
			case unix.RTM_NEWROUTE:
				n := len(u.MultiPath)
				if n == 0 {
					n = 1
				}
				w.routes[p] = routeSeen{nexthops: n, at: now}
			case unix.RTM_DELROUTE:
				delete(w.routes, p)
			}
			w.cond.Broadcast()
			w.mu.Unlock()
		}
	}()
	t.Cleanup(func() { close(w.done) })
	return w
}

// wait blocks until cond holds over the table (checked after every change)
// or the timeout passes, and returns when it first held.
func (w *routeWatch) wait(timeout time.Duration, cond func(map[netip.Prefix]routeSeen) bool) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	timer := time.AfterFunc(timeout, func() {
		w.mu.Lock()
		w.cond.Broadcast()
		w.mu.Unlock()
	})
	defer timer.Stop()
	w.mu.Lock()
	defer w.mu.Unlock()
	for {
		if w.err != nil {
			return time.Time{}, w.err
		}
		if cond(w.routes) {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("route condition not met within %v", timeout)
		}
		w.cond.Wait()
	}
}
