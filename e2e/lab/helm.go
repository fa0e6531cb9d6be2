package lab

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Helm runs the real helm (hack/tools.sh helm, from helm.sh/helm/v3)
// inside the cp namespace with the lab's kubeconfig, as an operator runs
// it against their cluster, and returns its combined output. Helm's
// cache, configuration and data live under the lab's state directory,
// never in the host's home. Real-node labs only: a process lab has no
// kubelet to run the chart's Pods.
func (l *Lab) Helm(ctx context.Context, args ...string) (string, error) {
	if l.tool("helm") == "" {
		return "", fmt.Errorf("helm: not a real-node lab")
	}
	home := filepath.Join(l.StateDir, "helm")
	argv := append([]string{"netns", "exec", l.CP.Name, "env",
		"HELM_CACHE_HOME=" + filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME=" + filepath.Join(home, "config"),
		"HELM_DATA_HOME=" + filepath.Join(home, "data"),
		l.tool("helm"), "--kubeconfig=" + l.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("helm %s: %w: %s", strings.Join(args, " "), err, clip(out.String(), 20, 400))
	}
	return out.String(), err
}

// ChartValues are the only values a lab (whose state directory is
// stateDir) sets on top of the chart's defaults: the locally built image
// at tag (never pulled), the nodes' management interface (API server
// traffic only) left out of announcements, and the speakers' directory
// for planned restarts in the lab's state directory instead of the host's
// /run, which every lab node shares (the speakers key their files by node
// name either way).
func ChartValues(tag, stateDir string) []string {
	return []string{
		"--set", "image.tag=" + tag,
		"--set", "image.pullPolicy=Never",
		"--set", "speaker.ignoreInterfaces={mgmt0}",
		"--set", "speaker.restartInPlace.hostPath=" + filepath.Join(stateDir, "node-run"),
	}
}

// ChartDir is the checkout's charts/barelb.
func (l *Lab) ChartDir() string { return filepath.Join(l.opts.RepoRoot, "charts", "barelb") }

// ContainerCommands lists the command lines of the node's running
// containers (each container's first process, a child of one of the
// node's containerd shims), sorted: "/pause" for every Pod sandbox,
// "/speaker ..." for a speaker. Real nodes only; empty otherwise. Shims
// are found by this node's containerd socket, so other labs' containers
// on the same host never count.
func (n *Node) ContainerCommands() []string {
	if n.rt == nil {
		return nil
	}
	var out []string
	for _, s := range shimsOf(n.rt.sock) {
		for _, p := range listProcs() {
			if p.ppid == s {
				out = append(out, strings.Join(p.argv, " "))
			}
		}
	}
	slices.Sort(out)
	return out
}
