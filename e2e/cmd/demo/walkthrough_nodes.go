package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// seed001Dir holds seeds 000/001's manifests (see its README.md).
const seed001Dir = "e2e/testdata/seed001"

// vmNS is the seeds' namespace, vmSvc their Service.
const (
	vmNS  = "example-namespace"
	vmSvc = "example-service"
)

// walkthroughNodes installs barelb with helm onto the real nodes and
// replays seeds 000/001, returning the LoadBalancer IP.
func (d *demo) walkthroughNodes() (string, error) {
	client := d.in.ClientNS

	heading("1. helm install barelb onto the real nodes")
	say(`The lab built barelb's image as ` + "`make image`" + ` does (hack/image, no container
engine) and imported it into each node's containerd as barelb:lab, so the
chart's Pods start from it and nothing is pulled. The values: the image
tag, the nodes' management NIC (mgmt0, API server traffic only) left out
of announcements, and the speakers' directory for planned restarts in the
lab's own directory (the lab's nodes share this host's /run).`)
	if _, err := d.kubectl("get", "nodes", "-o", "wide"); err != nil {
		return "", err
	}
	began := time.Now()
	install := append([]string{"install", "barelb", "charts/barelb", "--namespace", "metallb-system"}, lab.ChartValues(lab.ImageTag, d.in.StateDir)...)
	if _, err := d.helm(append(install, "--wait", "--timeout", "3m")...); err != nil {
		return "", err
	}
	for _, w := range []string{"deployment/barelb-controller", "daemonset/barelb-speaker"} {
		if _, err := d.kubectl("rollout", "status", w, "-n", "metallb-system", "--timeout=120s"); err != nil {
			return "", err
		}
	}
	if _, err := d.kubectl("get", "pods", "-n", "metallb-system", "-o", "wide"); err != nil {
		return "", err
	}
	say(fmt.Sprintf("The controller (2 replicas, leader election) and a speaker on every node (host network) are Ready %.0fs after helm install began.", time.Since(began).Seconds()))

	heading("2. Seeds 000/001: a VM's Pod carries the label its Service selects")
	say(`The seeds add special: key to a VirtualMachine's spec.template.metadata.labels;
KubeVirt copies those labels onto the VM's virt-launcher Pod, and the
Service selects the Pod by them. The lab runs no KubeVirt: the Pod below is
the one KubeVirt would make for example-vm, serving on the VM's port 9376.`)
	for _, f := range []string{"example-namespace.yaml", "virt-launcher-pod.yaml"} {
		d.cat(filepath.Join(seed001Dir, f))
		if _, err := d.kubectl("apply", "-f", filepath.Join(seed001Dir, f)); err != nil {
			return "", err
		}
	}
	if _, err := d.kubectl("wait", "--for=condition=Ready", "pod/virt-launcher-example-vm", "-n", vmNS, "--timeout=90s"); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "pods", "-n", vmNS, "-o", "wide", "--show-labels"); err != nil {
		return "", err
	}

	heading("3. The seeds' Service, type NodePort: port 30000 on every node")
	d.cat(filepath.Join(seed001Dir, "example-service.yaml"))
	if _, err := d.kubectl("apply", "-f", filepath.Join(seed001Dir, "example-service.yaml")); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "service", "-n", vmNS); err != nil {
		return "", err
	}
	say("From the client outside the cluster, to each node's address:")
	for _, n := range d.in.Nodes {
		if _, err := d.curl(client, url(n.IPs[0], 30000)); err != nil {
			return "", err
		}
	}

	heading("4. The same Service as a LoadBalancer: EXTERNAL-IP <pending>")
	say(`"ClusterIP, NodePort or LoadBalancer", the seeds say. As a LoadBalancer the
Service needs an address, and no IPAddressPool exists yet: it stays <pending>,
and the kubectl plugin says why and what to change.`)
	lb := filepath.Join(seed001Dir, "example-service-lb.yaml")
	d.cat(lb)
	if _, err := d.kubectl("apply", "-f", lb); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "svc", "-n", vmNS); err != nil {
		return "", err
	}
	if err := d.verdict(vmNS, vmSvc); err != nil {
		return "", err
	}
	if _, err := d.barelb("explain", "svc", vmSvc, "-n", vmNS); err != nil {
		return "", err
	}

	heading("5. Seed 002's IPAddressPool and L2Advertisement")
	say(`With an IPAddressPool and an L2Advertisement (seed 002's, in the lab's
198.18.1.0/24), barelb gives the Service an address and one node's speaker
answers ARP for it.`)
	for _, f := range []string{filepath.Join(seedDir, "ipaddresspool.yaml"), filepath.Join(seedDir, "l2advertisement.yaml")} {
		d.cat(f)
		if _, err := d.kubectl("apply", "-f", f); err != nil {
			return "", err
		}
	}
	ip, err := d.announced(vmNS, vmSvc)
	if err != nil {
		return "", err
	}
	if _, err := d.barelb("explain", "svc", vmSvc, "-n", vmNS); err != nil {
		return "", err
	}
	say("The client " + client + " (" + d.in.ClientIPs[0] + ") reaches the VM through the LoadBalancer IP:")
	if _, err := d.curl(client, url(ip, 80)); err != nil {
		return "", err
	}
	d.sh(client, "ip", "neigh", "show", ip)
	say("The MAC above is the announcing node's; `helm uninstall barelb -n metallb-system` removes barelb again (the CRDs stay).")
	return ip, nil
}

// helm runs the real helm (hack/tools.sh helm) from the checkout with the
// host kubeconfig, printing the command as typed and its output. Helm's
// cache and configuration go to the lab's state directory.
func (d *demo) helm(args ...string) (string, error) {
	prompt("helm " + strings.Join(args, " "))
	tool, err := exec.Command(filepath.Join(d.root, "hack", "tools.sh"), "helm").Output()
	if err != nil {
		return "", fmt.Errorf("hack/tools.sh helm: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, strings.TrimSpace(string(tool)), append(args, "--kubeconfig", d.in.HostKubeconfig)...)
	cmd.Dir = d.root
	home := filepath.Join(d.in.StateDir, "helm")
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"), "HELM_DATA_HOME="+filepath.Join(home, "data"))
	out, err := cmd.CombinedOutput()
	fmt.Print(string(out))
	if err != nil {
		return string(out), fmt.Errorf("helm %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}
