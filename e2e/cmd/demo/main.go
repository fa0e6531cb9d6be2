// Command demo is `make demo`: it brings up the demo lab (tag "barelb":
// namespaces barelb-node1..3, barelb-client, ...) with barelb's controller
// and speakers, replays the seed 002 walkthrough on it with the real
// manifests and real kubectl and curl output, and leaves the lab running
// for people to poke at. `make demo-down` (go run ./e2e/cmd/lab down)
// removes it.
//
// The walkthrough: three httpd-like backends (the lab's backend image
// stand-in), a ClusterIP Service reachable from a node but not from the
// client outside the cluster, a NodePort Service on every node, a
// LoadBalancer Service at <pending>, then the seed's IPAddressPool
// (re-addressed into 198.18.1.136-139) and L2Advertisement, the EXTERNAL-IP
// barelb assigns, and six curls from the outside client answered by
// different backends.
//
// With -real-nodes (`make demo-nodes`) the lab's nodes are real kubelets
// with containerd instead: barelb is installed as an operator installs it,
// `helm install` of charts/barelb with the image hack/image built, its
// Pods shown Ready on every node, and then seeds 000/001 (a Service that
// selects a KubeVirt VM's Pod by a label of the VM's template) replayed,
// first as the seed's NodePort, then as a LoadBalancer (see
// walkthrough_nodes.go).
//
// It installs nothing: the Makefile builds the tools and bin/controller,
// bin/speaker first. The lab itself is started with `go run ./e2e/cmd/lab
// up`, so it is the same detached lab `lab up` makes. If the demo lab is
// already running, the demo says so and leaves it alone. Needs root.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// tag names the demo lab's namespaces: barelb-node1, barelb-client, ...
// (-tag changes it, so a second demo can run beside a first).
var tag = "barelb"

// realNodes is -real-nodes.
var realNodes bool

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: demo\n\nBrings up the demo lab %q, replays seed 002 on it and leaves it running.\n", tag)
		flag.PrintDefaults()
	}
	flag.StringVar(&tag, "tag", tag, "lab tag: namespaces <tag>-node1 ... and <tag>-client (at most 6 characters)")
	flag.BoolVar(&realNodes, "real-nodes", false, "real kubelets and containerd on 2 nodes; barelb installed with helm; seeds 000/001 (a Service for a VM's Pod)")
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	began := time.Now()
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, nftables): run it as root, e.g. sudo make demo")
	}
	root, err := lab.FindRepoRoot()
	if err != nil {
		return err
	}
	if err := os.Chdir(root); err != nil {
		return err
	}
	dir := lab.DefaultStateDir(tag)
	if pid := lab.Owner(dir); pid != 0 {
		fmt.Printf("demo: the demo lab %q is already running (pid %d); leaving it alone.\n", tag, pid)
		fmt.Println("demo: `make demo-down` removes it; `make demo` afterwards replays the walkthrough on a fresh lab.")
		if in, err := lab.ReadInfo(dir); err == nil {
			d := &demo{in: in, root: root}
			what := "svc/" + svc
			if realNodes {
				what = "svc/" + vmSvc + " -n " + vmNS
			}
			ip, _ := d.jsonpath(what, "{.status.loadBalancer.ingress[0].ip}")
			printHowTo(in, ip)
		}
		return nil
	}
	if !realNodes {
		for _, b := range []string{"controller", "speaker", "kubectl-barelb"} {
			if _, err := os.Stat(filepath.Join(root, "bin", b)); err != nil {
				return fmt.Errorf("bin/%s is missing: run `make build` first (make demo does)", b)
			}
		}
	}

	upArgs := []string{"run", "./e2e/cmd/lab", "up", "--tag=" + tag}
	if realNodes {
		heading("Bringing up the lab: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, 2 nodes each with containerd, a real kubelet and kube-proxy (nftables), an outside client; images built by hack/image and imported, nothing pulled")
		upArgs = append(upArgs, "--real-nodes", "--nodes=2")
	} else {
		heading("Bringing up the lab: etcd, kube-apiserver, kube-controller-manager, 3 nodes with kube-proxy (nftables) and the barelb speaker, the barelb controller, an outside client")
	}
	up := exec.Command(goTool(), upArgs...)
	up.Stdout, up.Stderr = os.Stdout, os.Stderr
	if err := up.Run(); err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	in, err := lab.ReadInfo(dir)
	if err != nil {
		return fmt.Errorf("the lab is up but its description is unreadable: %w", err)
	}
	labUp := time.Since(began)
	d := &demo{in: in, root: root}
	walk := d.walkthrough
	if realNodes {
		walk = d.walkthroughNodes
	}
	ip, err := walk()
	if err != nil {
		fmt.Println()
		fmt.Println("demo: the walkthrough failed; the lab is still running for a look (`make demo-down` removes it).")
		fmt.Printf("demo: component logs are in %s\n", filepath.Join(in.StateDir, "logs"))
		return err
	}
	fmt.Printf("\ndemo: done in %.0fs (lab up %.0fs, walkthrough %.0fs)\n", time.Since(began).Seconds(), labUp.Seconds(), (time.Since(began) - labUp).Seconds())
	printHowTo(in, ip)
	return nil
}

// goTool is the go command on PATH, else the toolchain's under $GOROOT.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if r := os.Getenv("GOROOT"); r != "" {
		return filepath.Join(r, "bin", "go")
	}
	return "go"
}

// printHowTo tells a person how to use the lab the demo leaves running.
func printHowTo(in lab.Info, lbIP string) {
	if lbIP == "" {
		lbIP = "<EXTERNAL-IP>"
	}
	lbURL := url(lbIP, 8080) // seed 002's Service port
	if realNodes {
		lbURL = url(lbIP, 80) // seeds 000/001's
	}
	nodes := make([]string, 0, len(in.Nodes))
	for _, n := range in.Nodes {
		nodes = append(nodes, n.Name)
	}
	fmt.Printf(`
The lab %[1]s keeps running. Use it from this machine:

  export KUBECONFIG=%[2]s
  alias kubectl=%[3]s
  kubectl get svc -A
  kubectl get servicel2statuses -n metallb-system       # which node answers ARP for the IP
  ip netns exec %[4]s curl %[5]s   # the LoadBalancer IP, from the client outside the cluster
  ip netns exec %[4]s ip neigh                  # the MAC the client learned for it

namespaces: %[6]s (nodes), %[4]s (client %[7]s), %[8]s (control plane)
logs:       %[9]s
stop:       %[10]s
`, in.Tag, in.HostKubeconfig, in.Kubectl, in.ClientNS, lbURL, strings.Join(nodes, " "),
		strings.Join(in.ClientIPs, ", "), in.CPNamespace, filepath.Join(in.StateDir, "logs"), stopCommand())
}

// stopCommand is how to remove the lab the demo leaves.
func stopCommand() string {
	if tag == "barelb" {
		return "make demo-down    (go run ./e2e/cmd/lab down)"
	}
	return "go run ./e2e/cmd/lab down --tag=" + tag
}
