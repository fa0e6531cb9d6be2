package lab

import (
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
)

// The configuration files of a real node: containerd's, the CNI network's
// and the kubelet's. Pure functions of the node's paths and addresses, so
// a test can read what every setting is without starting anything.

// nodeRuntime holds a real node's paths, all under the lab's state
// directory: nothing of a real node is written outside it.
type nodeRuntime struct {
	dir  string // <state>/nodes/<node>
	sock string // containerd's socket
	// mounts holds the node's mount namespace open (makeMountNS).
	mounts *Component
	// kubeconfig is the kubelet's (system:node:<name>).
	kubeconfig string
}

func newNodeRuntime(stateDir, node string) *nodeRuntime {
	dir := filepath.Join(stateDir, "nodes", node)
	return &nodeRuntime{
		dir:  dir,
		sock: filepath.Join(dir, "containerd.sock"),
	}
}

// mntns is the path that enters the node's mount namespace. A /proc path,
// not a bind mount of the namespace on a file: the kernel does not copy
// such bind mounts into new mount namespaces, and `ip netns exec` makes
// one for every process it starts.
func (r *nodeRuntime) mntns() string {
	return fmt.Sprintf("/proc/%d/ns/mnt", r.mounts.PID())
}

func (r *nodeRuntime) path(parts ...string) string {
	return filepath.Join(append([]string{r.dir}, parts...)...)
}

// containerdConfig is containerd 1.6's configuration (version 2 format)
// for one node:
//
//   - root, state, socket and the opt plugin's directory under the node's
//     directory, so nodes share nothing and the host's own containerd, if
//     any, is never touched; no TCP, debug or metrics listener.
//   - restrict_oom_score_adj: without it every Pod sandbox fails in runc
//     with "failed to update /proc/self/oom_score_adj: Permission denied"
//     (containerd asks for a score below its own, which this sandbox
//     refuses).
//   - netns_mounts_under_state_dir: Pod network namespaces are bind-mounted
//     under the node's state directory instead of the host's /run/netns,
//     so they never mix with other labs' and go with the node.
//   - cgroupfs (SystemdCgroup = false): the host has no systemd and
//     cgroup v1 controllers. runc's state (Root) under the node's
//     directory too; its default is the host-wide /run/containerd/runc.
//     (The shims' sockets still go to /run/containerd/s, fixed in
//     containerd 1.6; stopRuntime removes the node's.)
//   - sandbox_image: the locally built pause image; nothing is pulled.
//   - CNI: the plugins built by hack/cni.sh, the node's own conf dir.
//   - stream server on the node's loopback, ephemeral port.
func containerdConfig(r *nodeRuntime, cniBin, pauseImage string) string {
	return fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[3]q

[ttrpc]
  address = %[4]q

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = %[5]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[6]q
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = %[9]q
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = %[7]q
    conf_dir = %[8]q
    max_conf_num = 1
`, r.path("containerd", "root"), r.path("containerd", "state"), r.sock, r.sock+".ttrpc",
		r.path("containerd", "opt"), pauseImage, cniBin, r.path("cni", "net.d"), r.path("runc"))
}

// cniConfig is the node's Pod network: the ptp plugin gives every Pod a
// veth to the node with the Pod's own /32 and /128 and host routes on the
// node, exactly the shape of the process lab's sandboxes, so the lab's
// existing host-gateway routes (each node routes the other nodes' Pod
// CIDRs via their LAN addresses) carry Pod-to-Pod traffic with no bridge,
// overlay or NAT. Pods get routes only to the lab ranges, no default
// route: a Pod reaches nothing outside the lab. host-local keeps its
// leases under the node's directory (its default is shared host-wide).
func cniConfig(r *nodeRuntime, p nodePlan) (string, error) {
	cfg := map[string]any{
		"cniVersion": "1.0.0",
		"name":       "barelb-lab",
		"plugins": []any{
			map[string]any{
				"type":   "ptp",
				"ipMasq": false,
				"mtu":    1500,
				"ipam": map[string]any{
					"type": "host-local",
					"ranges": [][]map[string]string{
						{{"subnet": p.PodV4.String(), "gateway": p.GatewayV4.String()}},
						{{"subnet": p.PodV6.String(), "gateway": p.GwV6.String()}},
					},
					"routes": []map[string]string{
						{"dst": "198.18.0.0/15"},
						{"dst": "2001:db8::/32"},
					},
					"dataDir": r.path("cni", "ipam"),
				},
			},
		},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	return string(b), err
}

// kernelTunables are the sysctls the kubelet insists on (its
// setupKernelTunables). They are machine-wide, not per network namespace:
// left alone, three lab kubelets would set kernel.panic_on_oops=1 and
// vm.overcommit_memory=1 on the host. Each node's mount namespace instead
// has these files bind-mounted over the /proc/sys entries, holding the
// values the kubelet wants, and the kubelet runs with
// protectKernelDefaults, so it only reads them and would fail rather than
// write a tunable this list misses.
var kernelTunables = map[string]string{
	"vm/overcommit_memory":      "1",
	"vm/panic_on_oom":           "0",
	"kernel/panic":              "10",
	"kernel/panic_on_oops":      "1",
	"kernel/keys/root_maxkeys":  "1000000",
	"kernel/keys/root_maxbytes": "25000000",
}

// kubeletConfig is the node's KubeletConfiguration. What this host needs:
//
//   - failCgroupV1: false: the host mounts cgroup v1 controllers, which
//     kubelet 1.35+ refuses by default.
//   - cgroupDriver cgroupfs: no systemd.
//   - cgroupsPerQOS: false and no enforceNodeAllocatable: three kubelets
//     share one cgroup tree; with QoS cgroups each would claim /kubepods
//     (with limits sized for the whole machine) and fight over it.
//   - failSwapOn: false: the host may have swap.
//   - protectKernelDefaults: see kernelTunables.
//   - image GC off (100%) and eviction thresholds near zero: the disk and
//     memory are the shared host's, and an evicted Pod or a collected
//     pause image (nothing can be pulled back) would only be noise.
//   - resolvConf "": Pods get no copy of the host's resolvers (they
//     could not reach them anyway: Pods only route to the lab ranges).
//   - podLogsDir, volumePluginDir: under the node's directory instead of
//     the host-wide defaults.
//   - authentication by the lab CA's client certificates, anonymous off.
func kubeletConfig(r *nodeRuntime, caFile string) string {
	tun := slices.Sorted(maps.Keys(kernelTunables))
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%[1]s
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
protectKernelDefaults: true
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%%"
  imagefs.available: "1%%"
  nodefs.inodesFree: "1%%"
resolvConf: ""
clusterDomain: cluster.local
podLogsDir: %[2]q
volumePluginDir: %[3]q
readOnlyPort: 0
port: 10250
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: false
  x509:
    clientCAFile: %[4]q
authorization:
  mode: AlwaysAllow
serializeImagePulls: false
maxPods: 110
# kernel tunables read from the node's mount namespace: %[5]s
`, r.sock, r.path("pod-logs"), r.path("volume-plugins"), caFile, strings.Join(tun, ", "))
}

// kubeletArgs are the kubelet's command-line flags (what has no config
// field): its identity, the node's lab addresses (without --node-ip it
// reports the host's own address), and its directories.
func kubeletArgs(r *nodeRuntime, n *Node, config string) []string {
	return []string{
		"--config=" + config,
		"--kubeconfig=" + r.kubeconfig,
		"--root-dir=" + r.path("kubelet"),
		"--cert-dir=" + r.path("kubelet", "pki"),
		"--hostname-override=" + n.Name,
		"--node-ip=" + n.IPv4.String() + "," + n.IPv6.String(),
		"--v=1",
	}
}
