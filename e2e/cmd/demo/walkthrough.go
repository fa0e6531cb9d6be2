package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/backend"
	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// seedDir holds seed 002's manifests, re-addressed into the lab's LAN.
const seedDir = "e2e/testdata/seed002"

// ns is the seed's namespace; svc its Service, whose type changes per step.
const (
	ns  = "service-test"
	svc = "httpd-service"
)

// demo runs the walkthrough's commands against the running lab.
type demo struct {
	in   lab.Info
	root string
}

// walkthrough replays seed 002 and returns the LoadBalancer IP.
func (d *demo) walkthrough() (string, error) {
	node1 := d.in.Nodes[0].Name
	client := d.in.ClientNS

	heading("1. A namespace and a Deployment of three httpd-like backends")
	say(`Seed 002 starts with the namespace service-test and a Deployment of three
httpd Pods whose page names their node and Pod. In the lab every Pod is a
network namespace on its node running a small web server that answers the
same way; the image and the init container are accepted but not run.`)
	for _, f := range []string{"service-test-namespace.yaml", "httpd-deployment.yaml"} {
		d.cat(d.file(f))
		if _, err := d.kubectl("apply", "-f", d.file(f)); err != nil {
			return "", err
		}
	}
	if _, err := d.kubectl("rollout", "status", "deployment/httpd-deployment", "-n", ns, "--timeout=120s"); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "all", "-n", ns, "-o", "wide"); err != nil {
		return "", err
	}
	podIPs, err := d.jsonpath("pods", "{range .items[*]}{.status.podIP}{\"\\n\"}{end}")
	if err != nil {
		return "", err
	}
	say("Each Pod answers from a node, as the seed curls them from master1:")
	for _, ip := range strings.Fields(podIPs) {
		if _, err := d.curl(node1, url(ip, 80)); err != nil {
			return "", err
		}
	}

	heading("2. A ClusterIP Service: reachable inside the cluster only")
	d.cat(d.file("clusterip-service.yaml"))
	if _, err := d.kubectl("apply", "-f", d.file("clusterip-service.yaml")); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "svc", "-n", ns); err != nil {
		return "", err
	}
	clusterIP, err := d.jsonpath("svc/"+svc, "{.spec.clusterIP}")
	if err != nil {
		return "", err
	}
	say("Six curls from " + node1 + ": kube-proxy spreads them over the three Pods.")
	for i := 0; i < 6; i++ {
		if _, err := d.curl(node1, url(clusterIP, 8080)); err != nil {
			return "", err
		}
	}
	say("From the client outside the cluster the ClusterIP is not reachable (no route), as the seed says:")
	d.curlFails(client, url(clusterIP, 8080))
	if _, err := d.kubectl("delete", "-f", d.file("clusterip-service.yaml")); err != nil {
		return "", err
	}

	heading("3. A NodePort Service: port 30080 on every node")
	d.cat(d.file("nodeport-service.yaml"))
	if _, err := d.kubectl("apply", "-f", d.file("nodeport-service.yaml")); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "svc", "-n", ns); err != nil {
		return "", err
	}
	say("From the client outside the cluster, two curls to each node's address:")
	for _, n := range d.in.Nodes {
		for i := 0; i < 2; i++ {
			if _, err := d.curl(client, url(n.IPs[0], 30080)); err != nil {
				return "", err
			}
		}
	}
	if _, err := d.kubectl("delete", "-f", d.file("nodeport-service.yaml")); err != nil {
		return "", err
	}

	heading("4. A LoadBalancer Service: EXTERNAL-IP <pending>")
	d.cat(d.file("loadbalancer-service.yaml"))
	if _, err := d.kubectl("apply", "-f", d.file("loadbalancer-service.yaml")); err != nil {
		return "", err
	}
	out, err := d.kubectl("get", "svc", "-n", ns)
	if err != nil {
		return "", err
	}
	if strings.Contains(out, "<pending>") {
		say(`barelb's controller runs, but no IPAddressPool exists yet, so there is no
address to give: the Service stays <pending>. The plugin says why, and what to change:`)
	}
	if err := d.verdict(ns, svc); err != nil {
		return "", err
	}
	if _, err := d.barelb("explain", "svc", svc, "-n", ns); err != nil {
		return "", err
	}

	heading("5. The seed's IPAddressPool and L2Advertisement")
	say(`The seed's pool 192.168.11.136-192.168.11.139 becomes 198.18.1.136-198.18.1.139
on the lab's LAN (198.18.1.0/24 mirrors the seed's 192.168.11.0/24); nothing
else changes. The L2Advertisement makes one node answer ARP for the address.`)
	for _, f := range []string{"ipaddresspool.yaml", "l2advertisement.yaml"} {
		d.cat(d.file(f))
		if _, err := d.kubectl("apply", "-f", d.file(f)); err != nil {
			return "", err
		}
	}
	ip, err := d.announced(ns, svc)
	if err != nil {
		return "", err
	}
	if _, err := d.barelb("explain", "svc", svc, "-n", ns); err != nil {
		return "", err
	}

	heading("6. Six curls from the client outside the cluster")
	say("The client " + client + " (" + d.in.ClientIPs[0] + ") is on the LAN, like the seed's rhel8host:")
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		body, err := d.curl(client, url(ip, 8080))
		if err != nil {
			return "", err
		}
		if r, err := backend.Parse(body); err == nil {
			seen[r.PodName]++
		}
	}
	d.sh(client, "ip", "neigh", "show", ip)
	say(fmt.Sprintf("%d different backends answered the six requests to %s; the MAC above is the announcing node's.", len(seen), ip))
	return ip, nil
}

// verdict waits for the controller's barelb.io/AddressAssigned condition
// on the Service, so explain has the controller's reason to show.
func (d *demo) verdict(namespace, name string) error {
	return poll(30*time.Second, "the controller's verdict on "+name, func() error {
		cond, err := d.jsonpath("svc/"+name+" -n "+namespace, `{.status.conditions[?(@.type=="barelb.io/AddressAssigned")].reason}`)
		if err == nil && cond == "" {
			err = fmt.Errorf("no barelb.io/AddressAssigned condition yet")
		}
		return err
	})
}

// announced waits for the Service's EXTERNAL-IP and for a node announcing
// it, shows both (kubectl get svc, servicel2statuses) and returns the IP.
func (d *demo) announced(namespace, name string) (string, error) {
	var ip string
	if err := poll(60*time.Second, "an EXTERNAL-IP for "+name, func() error {
		var err error
		ip, err = d.jsonpath("svc/"+name+" -n "+namespace, "{.status.loadBalancer.ingress[0].ip}")
		if err == nil && ip == "" {
			err = fmt.Errorf("still <pending>")
		}
		return err
	}); err != nil {
		return "", err
	}
	if _, err := d.kubectl("get", "svc", "-n", namespace); err != nil {
		return "", err
	}
	if err := poll(30*time.Second, "a node announcing "+ip, func() error {
		node, err := d.jsonpath("servicel2statuses -n metallb-system", "{.items[*].status.node}")
		if err == nil && node == "" {
			err = fmt.Errorf("no ServiceL2Status yet")
		}
		return err
	}); err != nil {
		return "", err
	}
	_, err := d.kubectl("get", "servicel2statuses", "-n", "metallb-system")
	return ip, err
}

// file is the path of a seed manifest relative to the checkout.
func (d *demo) file(name string) string { return filepath.Join(seedDir, name) }

// cat prints a manifest (a path relative to the checkout) as `cat`
// would.
func (d *demo) cat(path string) {
	b, err := os.ReadFile(filepath.Join(d.root, path))
	if err != nil {
		fmt.Printf("(cannot read %s: %v)\n", path, err)
		return
	}
	prompt("cat " + path)
	fmt.Print(string(b))
	if !bytes.HasSuffix(b, []byte("\n")) {
		fmt.Println()
	}
}

// kubectl runs kubectl with the host kubeconfig, printing the command as a
// person would type it (KUBECONFIG exported) and its output.
func (d *demo) kubectl(args ...string) (string, error) {
	prompt("kubectl " + strings.Join(args, " "))
	out, err := d.kubectlQuiet(args...)
	fmt.Print(out)
	if err != nil {
		return out, fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return out, nil
}

func (d *demo) kubectlQuiet(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.in.Kubectl, append([]string{"--kubeconfig", d.in.HostKubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// barelb runs `kubectl barelb`, the plugin found as bin/kubectl-barelb on
// PATH. kubectl refuses flags before a plugin's name, so the kubeconfig
// goes after it.
func (d *demo) barelb(args ...string) (string, error) {
	prompt("kubectl barelb " + strings.Join(args, " "))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.in.Kubectl, append([]string{"barelb", "--kubeconfig", d.in.HostKubeconfig}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+filepath.Join(d.root, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	b, err := cmd.CombinedOutput()
	fmt.Print(string(b))
	if err != nil {
		return string(b), fmt.Errorf("kubectl barelb %s: %w", strings.Join(args, " "), err)
	}
	return string(b), nil
}

// jsonpath reads one field of objects in the seed's namespace (what may
// carry its own "-n NS").
func (d *demo) jsonpath(what, path string) (string, error) {
	args := append([]string{"get"}, strings.Fields(what)...)
	if !strings.Contains(what, " -n ") {
		args = append(args, "-n", ns)
	}
	out, err := d.kubectlQuiet(append(args, "-o", "jsonpath="+path)...)
	if err != nil {
		return "", fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(out))
	}
	return strings.TrimSpace(out), nil
}

// curl fetches u from inside the namespace and prints command and answer.
// Until kube-proxy has programmed a new Service or the client has resolved
// a fresh LoadBalancer IP, a first try may fail: it retries quietly for up
// to 30 seconds, and prints the answer that came.
func (d *demo) curl(netns, u string) (string, error) {
	prompt("ip netns exec " + netns + " curl -s " + u)
	var body string
	err := poll(30*time.Second, "curl "+u+" from "+netns, func() error {
		var err error
		body, err = lab.Curl(context.Background(), &netlab.Namespace{Name: netns}, u)
		return err
	})
	fmt.Print(body)
	return body, err
}

// curlFails shows a curl that must not connect.
func (d *demo) curlFails(netns, u string) {
	prompt("ip netns exec " + netns + " curl -s --connect-timeout 2 " + u)
	body, err := lab.Curl(context.Background(), &netlab.Namespace{Name: netns}, u)
	if err == nil {
		fmt.Printf("%s(unexpected: it answered)\n", body)
		return
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	fmt.Println(msg)
}

// sh runs a command inside the namespace and prints it and its output.
func (d *demo) sh(netns string, argv ...string) {
	prompt("ip netns exec " + netns + " " + strings.Join(argv, " "))
	out, _ := exec.Command("ip", append([]string{"netns", "exec", netns}, argv...)...).CombinedOutput()
	fmt.Print(string(out))
}

func url(ip string, port int) string {
	return "http://" + net.JoinHostPort(ip, fmt.Sprint(port)) + "/"
}

// poll calls f every 250ms until it succeeds or timeout passes.
func poll(timeout time.Duration, what string, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not after %v: %w", what, timeout, err)
		}
		time.Sleep(250 * time.Millisecond) // polling a condition with a deadline
	}
}

// bold, unbold are terminal escapes, empty when stdout is not a terminal.
var bold, unbold = func() (string, string) {
	if st, err := os.Stdout.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
		return "\033[1m", "\033[0m"
	}
	return "", ""
}()

func heading(s string) { fmt.Printf("\n%s==== %s%s\n", bold, s, unbold) }

func say(s string) { fmt.Printf("\n%s\n\n", s) }

func prompt(cmd string) { fmt.Printf("%s$ %s%s\n", bold, cmd, unbold) }
