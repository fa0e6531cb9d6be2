package lab

import (
	"context"
	"fmt"
	"hash/crc32"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barelb/barelb/testsupport/netlab"
)

// sandbox is one Pod as the mini kubelet runs it: a network namespace
// routed from its node (a veth pair, ptp style) with the backend web server
// inside.
type sandbox struct {
	uid      types.UID
	key      string // namespace/name
	node     *Node
	ns       *netlab.Namespace // not registered with the netlab.Lab: removed per Pod
	hostDev  string            // the node's end of the veth
	idx      int               // address slot in the node's Pod CIDRs
	v4, v6   netip.Addr
	ports    []int
	started  time.Time
	restarts int32
	proc     *netlab.Process
	logPath  string
}

// sandboxName is the Pod's namespace name: readable, and carrying the lab
// tag so netlab.Sweep removes it with the lab.
func (l *Lab) sandboxName(pod *corev1.Pod) string {
	n := fmt.Sprintf("%s-pod-%s-%s", l.Tag, pod.Namespace, pod.Name)
	if len(n) > 200 {
		n = n[:200]
	}
	return n
}

// podPorts are the TCP container ports the backend serves; 80 when the
// Pod declares none (the seed's httpd listens on 80).
func podPorts(pod *corev1.Pod) []int {
	seen := map[int]bool{}
	var ports []int
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if (p.Protocol == "" || p.Protocol == corev1.ProtocolTCP) && !seen[int(p.ContainerPort)] {
				seen[int(p.ContainerPort)] = true
				ports = append(ports, int(p.ContainerPort))
			}
		}
	}
	if len(ports) == 0 {
		ports = []int{80}
	}
	return ports
}

// createSandbox builds the Pod's namespace and starts its backend.
func (l *Lab) createSandbox(ctx context.Context, pod *corev1.Pod, node *Node) (sb *sandbox, err error) {
	idx, err := l.allocSlot(node)
	if err != nil {
		return nil, err
	}
	v4, v6 := node.plan.podAddrs(idx)
	sb = &sandbox{
		uid: pod.UID, key: pod.Namespace + "/" + pod.Name, node: node, idx: idx, v4: v4, v6: v6,
		ns:      &netlab.Namespace{Name: l.sandboxName(pod)},
		hostDev: fmt.Sprintf("veth%08x", crc32.ChecksumIEEE([]byte(pod.UID))),
		ports:   podPorts(pod),
		logPath: filepath.Join(l.logDir, "pods", pod.Namespace+"_"+pod.Name+".log"),
	}
	defer func() {
		if err != nil {
			l.destroySandbox(sb)
			err = fmt.Errorf("sandbox for %s on %s: %w", sb.key, node.Name, err)
		}
	}()
	// A namespace of the same name can only be a leftover of an earlier
	// failed teardown; it holds nothing of value.
	if _, err := os.Stat(filepath.Join("/run/netns", sb.ns.Name)); err == nil {
		_ = removeNetns(sb.ns.Name)
	}
	// Four process spawns in all: Pods start fast even on a loaded machine.
	if err := runCmd("ip", "netns", "add", sb.ns.Name); err != nil {
		return sb, err
	}
	if err := sb.ns.Do(func() error {
		return writeSysctls(map[string]string{
			"net/ipv6/conf/all/disable_ipv6":     "0",
			"net/ipv6/conf/default/disable_ipv6": "0",
			"net/ipv6/conf/all/accept_dad":       "0",
			"net/ipv6/conf/default/accept_dad":   "0",
		})
	}); err != nil {
		return sb, err
	}
	// Both ends are created in their namespaces with their final names, so
	// nothing ever appears in the host namespace.
	if err := runCmd("ip", "link", "add", "eth0", "netns", sb.ns.Name, "type", "veth",
		"peer", "name", sb.hostDev, "netns", node.NS.Name); err != nil {
		return sb, err
	}
	p := node.plan
	// Pod side: its own /32 and /128, and the lab ranges via the node's
	// gateway address on the other end of the veth. No default route: a Pod
	// can reach nothing outside the lab.
	if err := ipBatch(sb.ns.Name,
		"link set lo up",
		"link set eth0 up",
		"addr add "+v4.String()+"/32 dev eth0",
		"addr add "+v6.String()+"/128 dev eth0 nodad",
		"route add "+p.GatewayV4.String()+" dev eth0 scope link",
		"route add 198.18.0.0/15 via "+p.GatewayV4.String()+" dev eth0",
		"route add "+p.GwV6.String()+" dev eth0",
		"route add 2001:db8::/32 via "+p.GwV6.String()+" dev eth0",
	); err != nil {
		return sb, err
	}
	// Node side: the gateway addresses (answering the Pod's ARP/NDP) and
	// host routes to the Pod.
	if err := ipBatch(node.NS.Name,
		"link set "+sb.hostDev+" up",
		"addr add "+p.GatewayV4.String()+"/32 dev "+sb.hostDev,
		"addr add "+p.GwV6.String()+"/128 dev "+sb.hostDev+" nodad",
		// replace, not add: the host routes are the slot's, and a slot
		// is only reused once its last holder was destroyed.
		"route replace "+v4.String()+"/32 dev "+sb.hostDev,
		"route replace "+v6.String()+"/128 dev "+sb.hostDev,
	); err != nil {
		return sb, err
	}
	if err := os.MkdirAll(filepath.Dir(sb.logPath), 0o755); err != nil {
		return sb, err
	}
	if err := l.startBackend(sb, pod); err != nil {
		return sb, err
	}
	return sb, l.waitBackend(ctx, sb)
}

// startBackend (re)starts the Pod's web server inside its namespace.
func (l *Lab) startBackend(sb *sandbox, pod *corev1.Pod) error {
	f, err := os.OpenFile(sb.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	ports := make([]string, len(sb.ports))
	for i, p := range sb.ports {
		ports[i] = strconv.Itoa(p)
	}
	proc, err := sb.ns.Start(f, l.backendPath,
		"-ports="+strings.Join(ports, ","),
		"-node-ip="+sb.node.IPv4.String(),
		"-pod-ip="+sb.v4.String(),
		"-node-name="+sb.node.Name,
		"-pod-name="+pod.Name,
	)
	if err != nil {
		f.Close()
		return err
	}
	// The child holds its own copy of the descriptor.
	f.Close()
	sb.proc = proc
	sb.started = time.Now()
	key := sb.key
	go func() {
		<-proc.Done()
		l.kubelet.enqueue(key)
	}()
	return nil
}

// waitBackend waits until the backend accepts connections on its first
// port, dialed from the node (the path kube-proxy's DNAT takes).
func (l *Lab) waitBackend(ctx context.Context, sb *sandbox) error {
	dial := dialerIn(sb.node.NS)
	addr := net.JoinHostPort(sb.v4.String(), strconv.Itoa(sb.ports[0]))
	return pollUntil(ctx, 15*time.Second, 20*time.Millisecond, func() (bool, error) {
		select {
		case <-sb.proc.Done():
			b, _ := os.ReadFile(sb.logPath)
			return false, fmt.Errorf("backend exited: %v: %s", sb.proc.Err(), b)
		default:
		}
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		c, err := dial(dctx, "tcp", addr)
		if err != nil {
			return false, nil
		}
		c.Close()
		return true, nil
	})
}

// destroySandbox stops the backend and deletes the Pod's namespace; the
// veth pair, the node's host routes and gateway addresses go with it.
func (l *Lab) destroySandbox(sb *sandbox) {
	if sb.proc != nil {
		_ = sb.proc.Signal(syscall.SIGTERM)
		select {
		case <-sb.proc.Done():
		case <-time.After(2 * time.Second):
			sb.proc.Kill()
		}
	}
	// The node's end of the veth goes first, taking the Pod's host routes
	// with it at once: a namespace outlives "ip netns del" until the
	// kernel frees it, and its routes would block the next Pod given
	// this slot, or a retry for this Pod, whose veth is named after its
	// UID ("RTNETLINK answers: File exists", seen in CI).
	_ = runCmd("ip", "-n", sb.node.NS.Name, "link", "del", sb.hostDev)
	_ = removeNetns(sb.ns.Name)
	l.freeSlot(sb.node, sb.idx)
}

// allocSlot takes the lowest free address slot on node (2 and up; 1 is the
// gateway).
func (l *Lab) allocSlot(node *Node) (int, error) {
	l.slotMu.Lock()
	defer l.slotMu.Unlock()
	used := l.slots[node.Name]
	if used == nil {
		used = map[int]bool{}
		l.slots[node.Name] = used
	}
	for k := 2; k < 2+maxPodsPerNode; k++ {
		if !used[k] {
			used[k] = true
			return k, nil
		}
	}
	return 0, fmt.Errorf("node %s has no free Pod address", node.Name)
}

func (l *Lab) freeSlot(node *Node, k int) {
	l.slotMu.Lock()
	defer l.slotMu.Unlock()
	delete(l.slots[node.Name], k)
}

// removeNetns kills whatever still runs in a namespace and deletes it.
func removeNetns(name string) error {
	out, _ := exec.Command("ip", "netns", "pids", name).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	var err error
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err = runCmd("ip", "netns", "del", name); err == nil || strings.Contains(err.Error(), "No such file") {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond) // a killed process still holds the namespace
	}
}

func runCmd(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// ipBatch runs ip(8) commands (without the leading "ip") in namespace ns
// with one process.
func ipBatch(ns string, cmds ...string) error {
	cmd := exec.Command("ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %v: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// writeSysctls sets /proc/sys entries; called inside Namespace.Do, it
// changes the namespace's own settings (net sysctls follow the calling
// thread's network namespace).
func writeSysctls(kv map[string]string) error {
	for k, v := range kv {
		if err := os.WriteFile(filepath.Join("/proc/sys", k), []byte(v), 0o644); err != nil {
			return err
		}
	}
	return nil
}
