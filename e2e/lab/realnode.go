package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Real nodes (Options.RealNodes): every node namespace runs its own
// containerd and a real kubelet instead of the lab's mini kubelet, and a
// real kube-scheduler places Pods. What each needs on this host is in
// realnode_config.go; how they are kept apart from the host and from
// each other is here:
//
//   - network: both run in the node's network namespace, so the kubelet's
//     ports, containerd's stream server and every hostNetwork Pod are the
//     node's; the kubelet reaches the API server over mgmt0.
//   - mounts: both run in a mount namespace of the node's own (held open
//     by makeMountNS's process, private propagation), so container rootfs
//     overlays, volume tmpfs mounts and Pod netns bind mounts never
//     appear on the host and vanish with the namespace; the kubelet and
//     containerd share it, as volume mounts must be seen by both.
//   - files: everything under <state>/nodes/<node>.

// toolsRealNodes are the tools a real-node lab needs beyond toolNames
// (helm installs barelb onto the real nodes, see Lab.Helm).
var toolsRealNodes = []string{"kubelet", "kube-scheduler", "helm"}

// systemBinaries a real-node lab runs from the host (Debian packages, see
// hack/install-deps.sh).
var systemBinaries = []string{"containerd", "containerd-shim-runc-v2", "runc", "ctr", "unshare", "nsenter", "mount", "umount"}

func (l *Lab) resolveRealNodeBinaries(ctx context.Context) error {
	for _, b := range systemBinaries {
		p, err := exec.LookPath(b)
		if err != nil {
			return fmt.Errorf("real nodes need %s (run make deps: Debian containerd and runc): %w", b, err)
		}
		l.tools[b] = p
	}
	if l.opts.CNIDir != "" {
		l.cniDir = l.opts.CNIDir
	} else {
		cmd := exec.CommandContext(ctx, filepath.Join(l.opts.RepoRoot, "hack", "cni.sh"))
		cmd.Dir = l.opts.RepoRoot
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("hack/cni.sh: %w", err)
		}
		l.cniDir = lastLine(out)
	}
	for _, p := range []string{"ptp", "host-local", "loopback"} {
		if _, err := os.Stat(filepath.Join(l.cniDir, p)); err != nil {
			return fmt.Errorf("CNI plugin %s missing in %s: %w", p, l.cniDir, err)
		}
	}
	return nil
}

// startRealNodes starts containerd on every node, imports the lab's
// images into each, then starts the kubelets and waits until every Node
// is Ready with the not-ready taint gone (node-lifecycle-controller lifts
// it), so the scheduler places Pods on it.
func (l *Lab) startRealNodes(ctx context.Context) error {
	// The API server reaches each kubelet (logs, exec, port-forward) at
	// its LAN address, through the node's management interface: the cp
	// namespace is not on the LAN.
	for _, n := range l.Nodes {
		if err := l.CP.AddRoute(n.IPv4.String()+"/32", n.Mgmt.String()); err != nil {
			return err
		}
	}
	for _, n := range l.Nodes {
		if err := l.prepareNode(ctx, n); err != nil {
			return fmt.Errorf("%s: %w", n.Name, err)
		}
		if err := n.Containerd.Start(); err != nil {
			return err
		}
	}
	if err := l.forEachNode(func(n *Node) error {
		if err := waitSocket(ctx, n.Containerd, n.rt.sock); err != nil {
			return err
		}
		return l.importImages(ctx, n)
	}); err != nil {
		return err
	}
	l.timing("containerd+images")
	l.step("containerd up and images imported on %d nodes", len(l.Nodes))
	for _, n := range l.Nodes {
		if err := n.Kubelet.Start(); err != nil {
			return err
		}
	}
	if err := l.waitNodesReady(ctx); err != nil {
		return err
	}
	l.timing("kubelets")
	l.step("kubelets registered, %d nodes Ready", len(l.Nodes))
	return nil
}

// forEachNode runs fn for every node at once and joins the errors.
func (l *Lab) forEachNode(fn func(n *Node) error) error {
	errs := make([]error, len(l.Nodes))
	var wg sync.WaitGroup
	for i, n := range l.Nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(n); err != nil {
				errs[i] = fmt.Errorf("%s: %w", n.Name, err)
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// prepareNode writes the node's configuration, makes its mount namespace
// and defines (without starting) its containerd and kubelet.
func (l *Lab) prepareNode(ctx context.Context, n *Node) error {
	rt := n.rt
	for _, d := range []string{"cni/net.d", "cni/ipam", "kubelet", "pod-logs", "volume-plugins", "sysctl", "containerd"} {
		if err := os.MkdirAll(rt.path(d), 0o755); err != nil {
			return err
		}
	}
	cni, err := cniConfig(rt, n.plan)
	if err != nil {
		return err
	}
	files := map[string]string{
		rt.path("containerd.toml"):                    containerdConfig(rt, l.cniDir, PauseImage),
		rt.path("cni", "net.d", "10-barelb.conflist"): cni,
		rt.path("kubelet.yaml"):                       kubeletConfig(rt, l.caFile),
	}
	for p, body := range files {
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			return err
		}
	}
	if err := l.makeMountNS(ctx, n); err != nil {
		return fmt.Errorf("mount namespace: %w", err)
	}
	enter := []string{l.tool("nsenter"), "--mount=" + rt.mntns(), "--"}
	n.Containerd = newComponent("containerd-"+n.Name, n.NS, l.logDir, nil,
		append(enter, l.tool("containerd"), "--config="+rt.path("containerd.toml"))...)
	n.Containerd.stopTimeout = 10 * time.Second
	n.Kubelet = newComponent("kubelet-"+n.Name, n.NS, l.logDir, nil,
		append(append(enter, l.tool("kubelet")), kubeletArgs(rt, n, rt.path("kubelet.yaml"))...)...)
	return nil
}

// hardcodedDirs are host directories every node gets a private copy of
// (see makeMountNS).
var hardcodedDirs = []string{"/var/lib/kubelet", "/var/lib/cni"}

// makeMountNS starts the process that holds the node's mount namespace
// open: unshare(1) (a multi-threaded Go process cannot unshare its mount
// namespace), private propagation, the kernel tunables the kubelet checks
// shadowed by files (see kernelTunables), then sleep. The namespace is a
// copy of the lab's, with the host's /sys and its cgroup mounts (so the
// kubelet's machine info lists the host's interfaces: cosmetic).
func (l *Lab) makeMountNS(ctx context.Context, n *Node) error {
	rt := n.rt
	var script []string
	for _, k := range slices.Sorted(maps.Keys(kernelTunables)) {
		f := rt.path("sysctl", strings.ReplaceAll(k, "/", "."))
		if err := os.WriteFile(f, []byte(kernelTunables[k]+"\n"), 0o644); err != nil {
			return err
		}
		script = append(script, fmt.Sprintf("%s --bind %s /proc/sys/%s", l.tool("mount"), f, k))
	}
	// Paths the kubelet and libcni use whatever their configuration says:
	// the kubelet's device-plugin socket (two kubelets collide on
	// /var/lib/kubelet/device-plugins/kubelet.sock, "address already in
	// use") and libcni's result cache. Each node gets its own directory
	// mounted over them; only the empty mount points are made on the host.
	for _, d := range hardcodedDirs {
		own := rt.path("hostdirs", strings.ReplaceAll(strings.Trim(d, "/"), "/", "."))
		if err := os.MkdirAll(own, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		script = append(script, fmt.Sprintf("%s --bind %s %s", l.tool("mount"), own, d))
	}
	script = append(script, "exec sleep infinity")
	// From the lab's own mount namespace, not the one `ip netns exec`
	// made: that one has a fresh /sys without the cgroup mounts the
	// kubelet and runc need ("failed to find cgroup mounts").
	rt.mounts = newComponent("mounts-"+n.Name, n.NS, l.logDir, nil,
		l.tool("nsenter"), fmt.Sprintf("--mount=/proc/%d/ns/mnt", os.Getpid()), "--",
		l.tool("unshare"), "--mount", "--propagation", "private", "/bin/sh", "-ec", strings.Join(script, "\n"))
	rt.mounts.stopTimeout = time.Second
	if err := rt.mounts.Start(); err != nil {
		return err
	}
	// Ready once the script has exec'd sleep: every bind mount is done.
	pid := rt.mounts.PID()
	return pollUntil(ctx, 10*time.Second, 10*time.Millisecond, func() (bool, error) {
		if !rt.mounts.Running() {
			return false, fmt.Errorf("%s exited:\n%s", rt.mounts.Name, rt.mounts.Tail(10))
		}
		b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		return strings.HasPrefix(string(b), "sleep\x00"), nil
	})
}

// waitSocket waits until c accepts connections on its unix socket.
func waitSocket(ctx context.Context, c *Component, sock string) error {
	return pollUntil(ctx, 30*time.Second, 50*time.Millisecond, func() (bool, error) {
		if !c.Running() {
			return false, fmt.Errorf("%s exited:\n%s", c.Name, c.Tail(20))
		}
		conn, err := net.Dial("unix", sock)
		if err != nil {
			return false, nil
		}
		conn.Close()
		return true, nil
	})
}

// importImages loads every lab image into the node's containerd, in the
// namespace the CRI plugin uses.
func (l *Lab) importImages(ctx context.Context, n *Node) error {
	for _, name := range labImages {
		if err := l.importImage(ctx, n, filepath.Join(l.imageDir, name+".tar")); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) importImage(ctx context.Context, n *Node, tar string) error {
	cmd := exec.CommandContext(ctx, l.tool("ctr"), "--address", n.rt.sock, "--namespace", "k8s.io", "images", "import", tar)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ctr images import %s: %v: %s", tar, err, out)
	}
	return nil
}

// notReadyTaint is what the API server puts on a new Node and
// node-lifecycle-controller removes once the kubelet reports Ready.
const notReadyTaint = "node.kubernetes.io/not-ready"

// waitNodesReady waits for every kubelet's Node to be Ready and
// schedulable, failing fast with the log of a kubelet that exits.
func (l *Lab) waitNodesReady(ctx context.Context) error {
	var last string
	err := pollUntil(ctx, 120*time.Second, 250*time.Millisecond, func() (bool, error) {
		for _, n := range l.Nodes {
			for _, c := range []*Component{n.Containerd, n.Kubelet} {
				if !c.Running() {
					return false, fmt.Errorf("%s exited:\n%s", c.Name, c.Tail(30))
				}
			}
			node, err := l.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				last = fmt.Sprintf("%s: %v", n.Name, err)
				return false, nil
			}
			if !nodeReady(node) {
				last = fmt.Sprintf("%s: not Ready: %s", n.Name, readyMessage(node))
				return false, nil
			}
			for _, t := range node.Spec.Taints {
				if t.Key == notReadyTaint {
					last = fmt.Sprintf("%s: Ready, still tainted %s", n.Name, t.Key)
					return false, nil
				}
			}
		}
		return true, nil
	})
	if err != nil && last != "" {
		err = fmt.Errorf("%w (last: %s)", err, last)
	}
	return err
}

func readyMessage(n *corev1.Node) string {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Reason + ": " + c.Message
		}
	}
	return "no Ready condition yet"
}

// stopRealNodes stops every kubelet, then every node's containers,
// containerd and mount namespace. Called by teardown before the API
// server stops; safe on a half-started lab.
func (l *Lab) stopRealNodes() {
	var wg sync.WaitGroup
	for _, n := range l.Nodes {
		if n.Kubelet != nil {
			wg.Add(1)
			go func() { defer wg.Done(); n.Kubelet.close() }()
		}
	}
	wg.Wait()
	for _, n := range l.Nodes {
		if n.rt != nil {
			wg.Add(1)
			go func() { defer wg.Done(); l.stopRuntime(n) }()
		}
	}
	wg.Wait()
}

// stopRuntime kills the node's containers (each shim's children: a
// container's init, whose death takes its PID namespace with it), the
// shims, containerd and anything else left in the node's mount namespace,
// then drops the namespace, and with it every mount containerd and the
// kubelet made. It works from /proc alone, so it also cleans up after a
// containerd that hangs or died.
func (l *Lab) stopRuntime(n *Node) {
	rt := n.rt
	k := killContainers(rt)
	if n.Containerd != nil {
		n.Containerd.close()
	}
	if rt.mounts != nil && rt.mounts.Running() {
		ns := rt.mntns()
		left := pidsInMountNS(ns)
		for _, pid := range left {
			killPid(pid)
		}
		waitGone(left, 5*time.Second)
		rt.mounts.close()
	}
	k.cleanUp()
}

// killed is what killContainers leaves to remove once the processes are
// gone.
type killed struct {
	shims, containers []int
	cgroups, sockets  []string
}

// killContainers SIGKILLs every container of the node's containerd (each
// shim's children) and the shims themselves.
func killContainers(rt *nodeRuntime) killed {
	k := killed{sockets: shimSockets(rt), shims: shimsOf(rt.sock)}
	for _, s := range k.shims {
		for _, c := range childrenOf(s) {
			k.cgroups = append(k.cgroups, processCgroups(c)...)
			k.containers = append(k.containers, c)
			killPid(c)
		}
	}
	for _, s := range k.shims {
		killPid(s)
	}
	return k
}

func (k killed) cleanUp() {
	waitGone(append(k.shims, k.containers...), 5*time.Second)
	removeCgroups(k.cgroups)
	for _, s := range k.sockets {
		_ = os.Remove(s)
	}
}

// sweepRealNodes removes what the real nodes of a dead lab left in the
// host namespaces: the containers in Pod network namespaces (everything
// else ran in the node namespaces, whose removal kills it), their cgroups
// and the shims' sockets. A process lab's state has no nodes directory.
func sweepRealNodes(stateDir string) {
	dirs, _ := filepath.Glob(filepath.Join(stateDir, "nodes", "*"))
	for _, d := range dirs {
		rt := newNodeRuntime(stateDir, filepath.Base(d))
		killContainers(rt).cleanUp()
	}
}
