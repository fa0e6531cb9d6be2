package lab

import (
	"context"
	"net"
	"strings"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Helpers for failover tests and benchmarks. A node's speaker is
// n.Speaker: Kill (SIGKILL, a crash), Stop (SIGTERM, a rolling restart),
// Start (bring it back) and PID (for /proc/<pid>/status).

// LANMAC returns the hardware address of the node's LAN interface in lower
// case: the address its speaker's ARP and NDP answers carry.
func (n *Node) LANMAC() (string, error) {
	m, err := n.NS.MAC(n.LANDev)
	return strings.ToLower(m), err
}

// CutLAN sets the node's port on the LAN switch down: the node's LAN
// interface loses carrier, as when its cable is pulled or the node dies,
// while its management LAN (API server traffic) stays up.
func (l *Lab) CutLAN(n *Node) error { return l.Switch.LinkDown(n.SwitchPort) }

// RestoreLAN undoes CutLAN.
func (l *Lab) RestoreLAN(n *Node) error { return l.Switch.LinkUp(n.SwitchPort) }

// NodeByMAC returns the node whose LAN interface has mac, or nil.
func (l *Lab) NodeByMAC(mac string) *Node {
	for _, n := range l.Nodes {
		if m, err := n.LANMAC(); err == nil && m == strings.ToLower(mac) {
			return n
		}
	}
	return nil
}

// DialerIn returns a DialContext that opens its sockets inside ns (the
// client namespace, say), for Go clients that generate traffic in the lab.
func DialerIn(ns *netlab.Namespace) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return dialerIn(ns)
}
