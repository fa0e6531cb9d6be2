package layer2

import (
	"bytes"
	"net"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// linkInfo is what the announcer needs to know about a usable interface.
type linkInfo struct {
	index int
	name  string
	mac   net.HardwareAddr
	mtu   int
}

func (i linkInfo) netInterface() *net.Interface {
	return &net.Interface{Index: i.index, Name: i.name, HardwareAddr: i.mac, MTU: i.mtu, Flags: net.FlagUp}
}

// aggregatingMasters are the link kinds whose ports hand every frame to
// the master: answering on a port would answer with the port's MAC for
// traffic the master owns, so only the master is used.
var aggregatingMasters = map[string]bool{"bond": true, "bridge": true, "team": true}

// usableLinks returns the interfaces that can carry announcements, keyed
// by index, and for the others a short reason (useful in logs).
func usableLinks(links []netlink.Link) (map[int]linkInfo, map[string]string) {
	byIndex := make(map[int]netlink.Link, len(links))
	for _, l := range links {
		byIndex[l.Attrs().Index] = l
	}
	usable := map[int]linkInfo{}
	unusable := map[string]string{}
	for _, l := range links {
		a := l.Attrs()
		if reason := unusableReason(l, byIndex); reason != "" {
			unusable[a.Name] = reason
			continue
		}
		usable[a.Index] = linkInfo{index: a.Index, name: a.Name, mac: append(net.HardwareAddr(nil), a.HardwareAddr...), mtu: a.MTU}
	}
	return usable, unusable
}

// unusableReason is "" for an interface that can answer ARP and NDP: up
// with carrier, Ethernet-addressed, ARP-capable, not loopback, and not a
// port of a bond, bridge or team.
func unusableReason(l netlink.Link, byIndex map[int]netlink.Link) string {
	if reason := stateReason(l.Attrs()); reason != "" {
		return reason
	}
	if idx := l.Attrs().MasterIndex; idx != 0 {
		m, ok := byIndex[idx]
		if !ok {
			return "master not found"
		}
		if aggregatingMasters[m.Type()] {
			return "port of " + m.Type() + " " + m.Attrs().Name
		}
	}
	return ""
}

// stateReason checks what can be told from the link's own attributes.
func stateReason(a *netlink.LinkAttrs) string {
	switch {
	case a.Flags&net.FlagUp == 0:
		return "down"
	case a.RawFlags&unix.IFF_LOWER_UP == 0:
		return "no carrier"
	case a.Flags&net.FlagLoopback != 0:
		return "loopback"
	case a.RawFlags&unix.IFF_NOARP != 0:
		return "NOARP"
	case len(a.HardwareAddr) != 6 || bytes.Equal(a.HardwareAddr, ethZero):
		return "no Ethernet address"
	}
	return ""
}

// defaultIgnored are the name prefixes of interfaces that container
// runtimes and CNI plugins create on a node: pod veths, tunnels and
// service dummies. None of them is a LAN, and there can be hundreds.
var defaultIgnored = []string{
	"veth", "cali", "lxc", "cilium_", "flannel", "cni", "docker", "kube-ipvs",
	"vxlan", "genev", "tunl", "weave", "nodelocaldns", "ovn-k8s", "antrea",
}

// DefaultIgnore reports whether name is a container or CNI interface that
// an announcement without an interface list skips (see Options.Ignore).
func DefaultIgnore(name string) bool {
	for _, p := range defaultIgnored {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
