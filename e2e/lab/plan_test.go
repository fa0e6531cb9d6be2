package lab

import (
	"net/netip"
	"testing"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Every address the plan hands out must lie in the lab ranges, and no two
// things may share one.
func TestPlanStaysInLabRangesWithoutOverlap(t *testing.T) {
	seen := map[netip.Addr]string{}
	use := func(what string, a netip.Addr) {
		t.Helper()
		if !netlab.AllowedPrefix(netip.PrefixFrom(a, a.BitLen())) {
			t.Errorf("%s %s outside the lab ranges", what, a)
		}
		if prev, dup := seen[a]; dup {
			t.Errorf("%s %s also used by %s", what, a, prev)
		}
		seen[a] = what
	}
	use("cp", MgmtCP)
	use("client v4", ClientIPv4)
	use("client v6", ClientIPv6)
	for _, p := range []netip.Prefix{LANv4, LANv6, ClusterCIDRv4, ClusterCIDRv6, ServiceCIDRv4, ServiceCIDRv6} {
		if !netlab.AllowedPrefix(p) {
			t.Errorf("prefix %s outside the lab ranges", p)
		}
	}
	for n := 1; n <= maxNodes; n++ {
		p := planNode(n)
		use("node LAN v4", p.LANv4)
		use("node LAN v6", p.LANv6)
		use("node mgmt", p.Mgmt)
		if !LANv4.Contains(p.LANv4) || !LANv6.Contains(p.LANv6) {
			t.Errorf("node %d LAN addresses %s %s off the LAN", n, p.LANv4, p.LANv6)
		}
		if !ClusterCIDRv4.Contains(p.PodV4.Addr()) || !ClusterCIDRv6.Contains(p.PodV6.Addr()) {
			t.Errorf("node %d Pod CIDRs %s %s outside the cluster CIDRs", n, p.PodV4, p.PodV6)
		}
		use("gateway v4", p.GatewayV4)
		use("gateway v6", p.GwV6)
		for _, k := range []int{2, 3, maxPodsPerNode + 1} {
			v4, v6 := p.podAddrs(k)
			if !p.PodV4.Contains(v4) || !p.PodV6.Contains(v6) {
				t.Errorf("node %d Pod %d: %s %s outside %s %s", n, k, v4, v6, p.PodV4, p.PodV6)
			}
			use("pod v4", v4)
			use("pod v6", v6)
		}
	}
	for _, a := range append(PoolV4[:], PoolV6[:]...) {
		if _, taken := seen[a]; taken || !(LANv4.Contains(a) || LANv6.Contains(a)) {
			t.Errorf("pool address %s taken or off the LAN", a)
		}
	}
	if ServiceCIDRv4.Overlaps(ClusterCIDRv4) || ServiceCIDRv4.Overlaps(LANv4) || ClusterCIDRv4.Overlaps(LANv4) {
		t.Error("IPv4 Service, cluster and LAN ranges overlap")
	}
}

// The node LAN mirrors the seed's 192.168.11.0/24: its hosts .131-.133,
// pool .136-.139 and outside client .201 keep their last octet.
func TestPlanMirrorsSeedLAN(t *testing.T) {
	for n, want := range map[int]string{1: "198.18.1.131", 2: "198.18.1.132", 3: "198.18.1.133"} {
		if got := planNode(n).LANv4.String(); got != want {
			t.Errorf("node %d LAN %s, want %s", n, got, want)
		}
	}
	if ClientIPv4.String() != "198.18.1.201" || PoolV4[0].String() != "198.18.1.136" || PoolV4[1].String() != "198.18.1.139" {
		t.Errorf("client %s pool %s-%s, want the seed's .201 and .136-.139", ClientIPv4, PoolV4[0], PoolV4[1])
	}
}
