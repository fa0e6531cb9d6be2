package lab

import (
	"fmt"
	"net/netip"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Node is one cluster node: a network namespace with a LAN and a management
// interface, a Node object, a kube-proxy and (optionally) a speaker.
type Node struct {
	// Name is both the Node object's name and its namespace's name.
	Name string
	NS   *netlab.Namespace
	// Index is the 1-based node number in the address plan.
	Index int
	// IPv4 and IPv6 are the node's LAN addresses (its InternalIPs).
	IPv4, IPv6 netip.Addr
	// Mgmt is the node's management address (API server traffic).
	Mgmt netip.Addr
	// PodCIDRs are the node's Pod ranges, IPv4 first.
	PodCIDRs []netip.Prefix
	// LANDev is the node's LAN interface inside NS ("eth0").
	LANDev string
	// SwitchPort is the node's LAN port on the switch namespace's bridge,
	// which a test can set down to cut the node off the LAN.
	SwitchPort string

	KubeProxy *Component
	Speaker   *Component // nil when no speaker is configured
	// Containerd and Kubelet run on real nodes only (Options.RealNodes).
	Containerd, Kubelet *Component

	plan nodePlan
	rt   *nodeRuntime // real nodes only
}

const (
	lanBridge  = "lan"
	mgmtBridge = "mgmt"
	lanDev     = "eth0"
	mgmtDev    = "mgmt0"
)

// buildNetwork creates the switch, cp, node and client namespaces and wires
// them as the package documentation describes.
func (l *Lab) buildNetwork() error {
	var err error
	if l.Switch, err = l.net.AddNamespace("sw"); err != nil {
		return err
	}
	for _, br := range []string{lanBridge, mgmtBridge} {
		if err := l.Switch.Bridge(br); err != nil {
			return err
		}
	}
	// Control plane: management LAN only.
	if l.CP, err = l.net.AddNamespace("cp"); err != nil {
		return err
	}
	if err := l.plug(l.CP, mgmtDev, "m-cp", mgmtBridge, MgmtCP.String()+"/24"); err != nil {
		return err
	}
	for i := 1; i <= l.opts.Nodes; i++ {
		n, err := l.buildNode(i)
		if err != nil {
			return err
		}
		l.Nodes = append(l.Nodes, n)
	}
	// Host-gateway Pod routing: every node reaches every other node's Pod
	// ranges via that node's LAN address; the cp namespace reaches them via
	// the management LAN (replies to Pods that call the API server).
	for _, n := range l.Nodes {
		for _, m := range l.Nodes {
			if m == n {
				continue
			}
			if err := n.NS.AddRoute(m.plan.PodV4.String(), m.IPv4.String()); err != nil {
				return err
			}
			if err := n.NS.AddRoute(m.plan.PodV6.String(), m.IPv6.String()); err != nil {
				return err
			}
		}
		if err := l.CP.AddRoute(n.plan.PodV4.String(), n.Mgmt.String()); err != nil {
			return err
		}
	}
	// The outside client: LAN only, no route into the cluster.
	if l.ClientNS, err = l.net.AddNamespace("client"); err != nil {
		return err
	}
	return l.plug(l.ClientNS, lanDev, "client", lanBridge,
		ClientIPv4.String()+"/24", ClientIPv6.String()+"/64")
}

func (l *Lab) buildNode(i int) (*Node, error) {
	p := planNode(i)
	ns, err := l.net.AddNamespace(fmt.Sprintf("node%d", i))
	if err != nil {
		return nil, err
	}
	n := &Node{
		Name: ns.Name, NS: ns, Index: i,
		IPv4: p.LANv4, IPv6: p.LANv6, Mgmt: p.Mgmt,
		PodCIDRs: []netip.Prefix{p.PodV4, p.PodV6},
		LANDev:   lanDev, SwitchPort: fmt.Sprintf("node%d", i),
		plan: p,
	}
	if l.opts.RealNodes {
		n.rt = newNodeRuntime(l.StateDir, n.Name)
	}
	// A node routes for its Pods; rp_filter off because replies for
	// LoadBalancer traffic may leave by another path than a probe came in.
	for _, kv := range []string{
		"net.ipv4.ip_forward=1",
		"net.ipv6.conf.all.forwarding=1",
		"net.ipv4.conf.all.rp_filter=0",
		"net.ipv4.conf.default.rp_filter=0",
	} {
		if err := ns.Exec("sysctl", "-qw", kv); err != nil {
			return nil, err
		}
	}
	if err := l.plug(ns, lanDev, n.SwitchPort, lanBridge, p.LANv4.String()+"/24", p.LANv6.String()+"/64"); err != nil {
		return nil, err
	}
	if err := l.plug(ns, mgmtDev, fmt.Sprintf("m-node%d", i), mgmtBridge, p.Mgmt.String()+"/24"); err != nil {
		return nil, err
	}
	// A real node reaches ClusterIPs through its default route: the kernel
	// needs a route before kube-proxy's output DNAT rewrites the
	// destination. The lab has no default route, so it routes the Service
	// ranges on-link to the LAN instead; nothing leaves that way, since
	// every ClusterIP packet is rewritten to a Pod address first.
	for _, args := range [][]string{
		{"ip", "route", "add", ServiceCIDRv4.String(), "dev", lanDev, "src", p.LANv4.String()},
		{"ip", "-6", "route", "add", ServiceCIDRv6.String(), "dev", lanDev, "src", p.LANv6.String()},
	} {
		if err := ns.Exec(args...); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// plug connects ns (device dev) to a switch bridge through port and
// assigns addrs to dev.
func (l *Lab) plug(ns *netlab.Namespace, dev, port, bridge string, addrs ...string) error {
	l.vethMu.Lock()
	err := l.net.Veth(ns, dev, l.Switch, port)
	l.vethMu.Unlock()
	if err != nil {
		return err
	}
	if err := l.Switch.Attach(port, bridge); err != nil {
		return err
	}
	for _, a := range addrs {
		if err := ns.AddAddr(dev, a); err != nil {
			return err
		}
	}
	return nil
}
