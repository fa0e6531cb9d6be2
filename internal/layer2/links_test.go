package layer2

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestUnusableReason(t *testing.T) {
	mac := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	up := net.FlagUp | net.FlagBroadcast | net.FlagMulticast
	carrier := uint32(unix.IFF_UP | unix.IFF_LOWER_UP)
	attrs := func(index int, name string, master int) netlink.LinkAttrs {
		return netlink.LinkAttrs{Index: index, Name: name, Flags: up, RawFlags: carrier, HardwareAddr: mac, MasterIndex: master}
	}
	bond := &netlink.Bond{LinkAttrs: attrs(10, "bond0", 0)}
	bridge := &netlink.Bridge{LinkAttrs: attrs(11, "br0", 0)}
	team := &netlink.GenericLink{LinkAttrs: attrs(12, "team0", 0), LinkType: "team"}
	vrf := &netlink.Vrf{LinkAttrs: attrs(13, "vrf0", 0)}
	byIndex := map[int]netlink.Link{10: bond, 11: bridge, 12: team, 13: vrf}

	dev := func(mod func(*netlink.LinkAttrs)) netlink.Link {
		a := attrs(2, "eth0", 0)
		mod(&a)
		return &netlink.Device{LinkAttrs: a}
	}
	for _, tc := range []struct {
		name string
		link netlink.Link
		want string
	}{
		{"plain Ethernet", dev(func(*netlink.LinkAttrs) {}), ""},
		{"admin down", dev(func(a *netlink.LinkAttrs) { a.Flags &^= net.FlagUp }), "down"},
		{"no carrier", dev(func(a *netlink.LinkAttrs) { a.RawFlags &^= unix.IFF_LOWER_UP }), "no carrier"},
		{"loopback", dev(func(a *netlink.LinkAttrs) { a.Flags |= net.FlagLoopback }), "loopback"},
		{"NOARP", dev(func(a *netlink.LinkAttrs) { a.RawFlags |= unix.IFF_NOARP }), "NOARP"},
		{"no MAC (tun)", dev(func(a *netlink.LinkAttrs) { a.HardwareAddr = nil }), "no Ethernet address"},
		{"all-zero MAC", dev(func(a *netlink.LinkAttrs) { a.HardwareAddr = make(net.HardwareAddr, 6) }), "no Ethernet address"},
		{"bond port", dev(func(a *netlink.LinkAttrs) { a.MasterIndex = 10 }), "port of bond bond0"},
		{"bridge port", dev(func(a *netlink.LinkAttrs) { a.MasterIndex = 11 }), "port of bridge br0"},
		{"team port", dev(func(a *netlink.LinkAttrs) { a.MasterIndex = 12 }), "port of team team0"},
		{"VRF member is still usable", dev(func(a *netlink.LinkAttrs) { a.MasterIndex = 13 }), ""},
		{"unknown master", dev(func(a *netlink.LinkAttrs) { a.MasterIndex = 99 }), "master not found"},
		{"the bond itself", bond, ""},
	} {
		if got := unusableReason(tc.link, byIndex); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestDefaultIgnore(t *testing.T) {
	for name, want := range map[string]bool{
		"eth0": false, "ens3": false, "bond0": false, "br0": false, "enp1s0f0": false,
		"veth1234": true, "cali0ab": true, "lxc_health": true, "cilium_host": true,
		"flannel.1": true, "cni0": true, "docker0": true, "kube-ipvs0": true,
		"vxlan.calico": true, "tunl0": true, "genev_sys_6081": true,
	} {
		if got := DefaultIgnore(name); got != want {
			t.Errorf("DefaultIgnore(%q) = %v, want %v", name, got, want)
		}
	}
}
