package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// cmdStatus prints whether the lab runs, its processes, and the cluster's
// nodes and Services. It exits 3 when the lab is not running.
func cmdStatus(args []string) error {
	fs := flag.NewFlagSet("lab status", flag.ExitOnError)
	var c config
	c.bind(fs)
	_ = fs.Parse(args)
	pid := lab.Owner(c.dir())
	if pid == 0 {
		fmt.Printf("lab %s: not running\n", c.tag)
		if ns := lab.LeftoverNamespaces(c.tag); len(ns) > 0 {
			fmt.Printf("leftover namespaces (\"lab down\" removes them): %v\n", ns)
		}
		os.Exit(3)
	}
	in, err := lab.ReadInfo(c.dir())
	if err != nil {
		fmt.Printf("lab %s: starting (pid %d)\n", c.tag, pid)
		return nil
	}
	fmt.Printf("lab %s: running (pid %d) since %s, up in %.1fs\n", in.Tag, in.PID, in.StartedAt.Format(time.RFC3339), in.UpSeconds)
	fmt.Printf("KUBECONFIG=%s\n\nprocesses:\n", in.HostKubeconfig)
	for _, comp := range in.Components {
		state := "running"
		if comp.PID == 0 || !lab.ProcessAlive(comp.PID) {
			state = "EXITED (or restarted by a test)"
		}
		fmt.Printf("  %-28s %-16s pid %-8d %s\n", comp.Name, comp.Namespace, comp.PID, state)
	}
	fmt.Println()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, args := range [][]string{{"get", "nodes", "-o", "wide"}, {"get", "pods,services", "-A", "-o", "wide"}} {
		cmd := exec.CommandContext(ctx, in.Kubectl, append([]string{"--kubeconfig", in.HostKubeconfig, "--request-timeout=5s"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			fmt.Printf("kubectl %s: the API server does not answer (%v)\n", strings.Join(args, " "), err)
			break
		}
		fmt.Printf("%s\n", out)
	}
	return nil
}
