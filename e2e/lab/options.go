package lab

import (
	"io"
	"net"
	"strings"
	"time"
)

// Options configure a lab. The zero value is a test lab with three nodes,
// a random tag, and no barelb components.
type Options struct {
	// Tag, if set, names everything verbatim (the demo uses "barelb", giving
	// barelb-node1 ...); otherwise a random tag with Prefix is drawn so labs
	// can run side by side.
	Tag    string
	Prefix string // at most 4 characters; default "e2e"

	// StateDir holds certificates, kubeconfigs, etcd data and logs.
	// Default: /run/barelb-lab/<tag>. Removed by Close unless KeepState.
	StateDir  string
	KeepState bool

	// Nodes is the number of node namespaces (1..5, default 3).
	Nodes int

	// RepoRoot is the barelb checkout (found from the working directory
	// when empty); tools and the backend are built from it.
	RepoRoot string
	// ToolsDir holds etcd, kube-apiserver, kube-controller-manager,
	// kube-proxy and kubectl. Empty: ask hack/tools.sh (builds and caches).
	ToolsDir string
	// BackendPath is the Pod web server binary. Empty: go build
	// ./e2e/cmd/backend into the state directory.
	BackendPath string

	// Manifests are files or directories applied with kubectl once the
	// API server is ready and before the barelb controller starts (CRDs,
	// RBAC). Missing paths are skipped.
	Manifests []string

	// Controller runs once, in the cp namespace; Speaker runs once per node,
	// in the node's namespace. A nil Program, or one whose Path does not
	// exist, is not started (Status reports it as skipped).
	Controller *Program
	Speaker    *Program

	// RealNodes runs a real kubelet and containerd in every node
	// namespace (see realnode.go), with kube-scheduler placing Pods and
	// the CNI ptp plugin wiring them, instead of the mini kubelet that
	// runs every Pod as a backend process. Pods then run the images the
	// lab builds and imports (PauseImage, BackendImage, BarelbImage);
	// SetPodReady and SetNodeReady have no effect on them.
	RealNodes bool
	// ImageDir holds prebuilt image tarballs (pause.tar, backend.tar,
	// barelb.tar from `make image IMAGE_TAG=lab IMAGES=all`); empty:
	// hack/image builds them into the state directory.
	ImageDir string
	// CNIDir holds the CNI plugins; empty: ask hack/cni.sh.
	CNIDir string

	// Router adds an FRR router on the node LAN and an outside client
	// behind it (see router.go); Lab.Router is nil without it.
	Router bool

	// Log receives one line per step (nil: discarded).
	Log io.Writer

	// StartTimeout bounds Start (default 3 minutes).
	StartTimeout time.Duration
}

// Program is an external binary the lab runs, such as the barelb speaker.
//
// Args and Env values may refer to $(VAR) for any of: KUBECONFIG (the
// in-lab kubeconfig), NODE_NAME, NODE_IP, NODE_IPV6, NODE_INTERFACE (the
// node's LAN device), NODE_MGMT_IP, NAMESPACE (the netns name). The same
// variables are also set in the process environment (Speaker only gets the
// NODE_* ones), so a binary that reads its settings from the environment
// needs no Args at all.
type Program struct {
	Path string
	Args []string
	Env  []string // extra KEY=VALUE pairs
}

func (o *Options) defaults() {
	if o.Prefix == "" {
		o.Prefix = "e2e"
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 3 * time.Minute
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// SpeakerArgs are the arguments every lab runs barelb's speaker with. The
// node's LAN address is memberlist's; mgmt0 carries only API server
// traffic, like a management NIC, so the speaker never announces on it
// (the seed's L2Advertisement lists no interfaces).
func SpeakerArgs() []string {
	return []string{"--node-name=$(NODE_NAME)", "--ml-bind-addr=$(NODE_IP)", "--ignore-interfaces=" + mgmtDev}
}

// SpeakerArgsGossipOnMgmt are SpeakerArgs with memberlist on the
// management LAN (mgmt0) instead of the node LAN, as when speakers gossip
// over a management NIC: a node whose LAN link is cut stays alive in
// memberlist, and only its gossiped link state (link-aware election)
// moves its IPs. The speakers are told every node's management address
// to join (--ml-join), since the Nodes' InternalIPs are on the node LAN.
// nodes is the lab's node count (0: the default 3).
func SpeakerArgsGossipOnMgmt(nodes int) []string {
	if nodes == 0 {
		nodes = 3
	}
	var seeds []string
	for i := 1; i <= nodes; i++ {
		seeds = append(seeds, net.JoinHostPort(planNode(i).Mgmt.String(), "7946"))
	}
	return []string{"--node-name=$(NODE_NAME)", "--ml-bind-addr=$(NODE_MGMT_IP)", "--ml-join=" + strings.Join(seeds, ","), "--ignore-interfaces=" + mgmtDev, "--link-aware-election"}
}
