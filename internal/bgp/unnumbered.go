package bgp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/mdlayher/ndp"
	"github.com/vishvananda/netlink"
	netipv6 "golang.org/x/net/ipv6"
)

// Unnumbered peers (bgpmodel.Peer.Interface) are found the way FRR finds
// them: the router at the other end of a point-to-point link sends IPv6
// Router Advertisements from its link-local address (FRR's "neighbor <if>
// interface" turns them on), so that address is the peer. The speaker
// resolves it itself and gives GoBGP a zoned neighbour address
// (fe80::1%eth0) rather than GoBGP's neighbor-interface option, which
// fails AddPeer outright while the neighbour is not yet in the kernel's
// table and looks it up again on DeletePeer.

// raWait bounds how long a resolution waits for a Router Advertisement
// after soliciting one; it runs inside SetPeers.
const raWait = time.Second

// linkLocalNeighbor returns the zoned link-local address of the one
// neighbour on ifname, and the node's own (unzoned) link-local address
// there, the session's source. The neighbour is found in the kernel's neighbour table first (a router it
// has heard from, or the only link-local neighbour), else the source of a
// Router Advertisement answering a Router Solicitation. More than one
// candidate is an error: unnumbered peering needs a point-to-point link.
// Errors wrap ErrNoNeighbor when waiting may help.
func linkLocalNeighbor(ctx context.Context, ifname string, fresh bool) (peer, local netip.Addr, err error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return peer, local, fmt.Errorf("interface %q: %w (%w)", ifname, err, ErrNoNeighbor)
	}
	if local = ownLinkLocal(ifi); !local.IsValid() {
		return peer, local, fmt.Errorf("interface %q has no IPv6 link-local address of its own (is it up, with IPv6 on?), so %w", ifname, ErrNoNeighbor)
	}
	if fresh {
		if peer, err = solicitRouter(ctx, ifi); err == nil {
			return peer, local, nil
		}
	}
	if peer, err = kernelNeighbor(ifi); err != nil || peer.IsValid() {
		return peer, local, err
	}
	if peer, err = solicitRouter(ctx, ifi); err != nil {
		return peer, local, fmt.Errorf("interface %q: %w yet (%v)", ifname, ErrNoNeighbor, err)
	}
	return peer, local, nil
}

// ownLinkLocal is ifi's first IPv6 link-local address, unzoned.
func ownLinkLocal(ifi *net.Interface) netip.Addr {
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() {
			return p.Addr()
		}
	}
	return netip.Addr{}
}

// kernelNeighbor looks in the kernel's IPv6 neighbour table of ifi for
// usable link-local entries; an entry marked as a router wins. It returns
// the zero Addr when there is no candidate.
func kernelNeighbor(ifi *net.Interface) (netip.Addr, error) {
	neighs, err := netlink.NeighList(ifi.Index, netlink.FAMILY_V6)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("interface %q: neighbour table: %w", ifi.Name, err)
	}
	own := map[netip.Addr]bool{}
	if addrs, err := ifi.Addrs(); err == nil {
		for _, a := range addrs {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				own[p.Addr()] = true
			}
		}
	}
	var all, routers []netip.Addr
	for _, n := range neighs {
		a, ok := netip.AddrFromSlice(n.IP)
		if !ok || !a.IsLinkLocalUnicast() || own[a] || n.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE|netlink.NUD_NOARP) != 0 {
			continue
		}
		all = append(all, a)
		if n.Flags&netlink.NTF_ROUTER != 0 {
			routers = append(routers, a)
		}
	}
	pick := all
	if len(routers) > 0 {
		pick = routers
	}
	switch len(pick) {
	case 0:
		return netip.Addr{}, nil
	case 1:
		return pick[0].WithZone(ifi.Name), nil
	}
	return netip.Addr{}, fmt.Errorf("interface %q has %d link-local neighbours %v: unnumbered peering needs a point-to-point link", ifi.Name, len(pick), pick)
}

// solicitRouter sends a Router Solicitation on ifi and returns the source
// of the first Router Advertisement heard within raWait.
func solicitRouter(ctx context.Context, ifi *net.Interface) (netip.Addr, error) {
	c, _, err := ndp.Listen(ifi, ndp.LinkLocal)
	if err != nil {
		return netip.Addr{}, err
	}
	defer c.Close()
	var f netipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(netipv6.ICMPTypeRouterAdvertisement)
	if err := c.SetICMPFilter(&f); err != nil {
		return netip.Addr{}, err
	}
	deadline := time.Now().Add(raWait)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := c.SetDeadline(deadline); err != nil {
		return netip.Addr{}, err
	}
	rs := &ndp.RouterSolicitation{Options: []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr}}}
	if err := c.WriteTo(rs, nil, netip.IPv6LinkLocalAllRouters()); err != nil {
		return netip.Addr{}, err
	}
	for {
		m, _, from, err := c.ReadFrom()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return netip.Addr{}, fmt.Errorf("no Router Advertisement within %v", raWait)
			}
			return netip.Addr{}, err
		}
		if _, ok := m.(*ndp.RouterAdvertisement); ok && from.IsLinkLocalUnicast() {
			return from.WithZone(ifi.Name), nil
		}
	}
}

// FRR learns an unnumbered neighbour's address only from the Router
// Advertisements it hears on the interface (and accepts no connection
// before), so the speaker advertises too, as FRR's own side does. The
// advertisements have a router lifetime of 0: they name the node's
// link-local address without offering it as anyone's default router
// (RFC 4861 §4.2), and carry no prefix.

// raInterval is the time between advertisements: the lower bound of RFC
// 4861's MinRtrAdvInterval, so a router that missed the first one hears
// from the node within seconds.
const raInterval = 3 * time.Second

// advertiseLinkLocal sends Router Advertisements on ifname every
// raInterval until stop is closed. Send errors (the link is down, say)
// are reported to fail once per run of failures and retried.
func advertiseLinkLocal(ifname string, stop <-chan struct{}, fail func(error)) {
	var c *ndp.Conn
	defer func() {
		if c != nil {
			c.Close()
		}
	}()
	t := time.NewTicker(raInterval)
	defer t.Stop()
	failing := false
	for {
		err := func() error {
			if c == nil {
				ifi, err := net.InterfaceByName(ifname)
				if err != nil {
					return err
				}
				if c, _, err = ndp.Listen(ifi, ndp.LinkLocal); err != nil {
					return err
				}
				var f netipv6.ICMPFilter
				f.SetAll(true) // send only: read nothing
				if err := c.SetICMPFilter(&f); err != nil {
					return err
				}
			}
			ra := &ndp.RouterAdvertisement{RouterLifetime: 0}
			if ifi, err := net.InterfaceByName(ifname); err == nil && len(ifi.HardwareAddr) > 0 {
				ra.Options = []ndp.Option{&ndp.LinkLayerAddress{Direction: ndp.Source, Addr: ifi.HardwareAddr}}
			}
			return c.WriteTo(ra, nil, netip.IPv6LinkLocalAllNodes())
		}()
		if err != nil && c != nil {
			c.Close()
			c = nil
		}
		if err != nil && !failing {
			fail(fmt.Errorf("router advertisement on %q: %w", ifname, err))
		}
		failing = err != nil
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
