package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// cmdUp starts "lab serve" as a detached background process, relays its
// progress, and returns once the lab is ready. Ctrl-C while waiting stops
// the background process, which tears down what it built.
func cmdUp(args []string) error {
	fs := flag.NewFlagSet("lab up", flag.ExitOnError)
	var c config
	c.bind(fs)
	fg := fs.Bool("foreground", false, "run the lab in this process until Ctrl-C instead of in the background")
	_ = fs.Parse(args)
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, nftables)")
	}
	if pid := lab.Owner(c.dir()); pid != 0 {
		fmt.Printf("lab %s is already running (pid %d); leaving it alone. \"lab down\" stops it.\n", c.tag, pid)
		if in, err := lab.ReadInfo(c.dir()); err == nil {
			printUsage(os.Stdout, in)
		}
		return nil
	}
	if *fg {
		return serve(&c, true)
	}

	if err := os.MkdirAll(lab.StateRoot, 0o755); err != nil {
		return err
	}
	// The serve log lives beside, not inside, the state directory, which
	// the lab recreates on start.
	logPath := filepath.Join(lab.StateRoot, c.tag+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logf.Close()
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	child := exec.Command(exe, append([]string{"serve"}, c.args()...)...)
	child.Stdout, child.Stderr = logf, logf
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this terminal
	if err := child.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- child.Wait() }()

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sig)
	relay, err := os.Open(logPath)
	if err != nil {
		return err
	}
	defer relay.Close()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	interrupted := false
	for {
		_, _ = io.Copy(os.Stdout, relay)
		select {
		case err := <-exited:
			_, _ = io.Copy(os.Stdout, relay)
			if interrupted {
				return errors.New("interrupted; the lab was torn down")
			}
			return fmt.Errorf("lab serve exited (%v); its log is %s", err, logPath)
		case <-sig:
			if !interrupted {
				interrupted = true
				fmt.Println("lab: interrupted, tearing down ...")
				_ = child.Process.Signal(syscall.SIGTERM)
			}
		case <-tick.C:
			if interrupted {
				continue
			}
			in, err := lab.ReadInfo(c.dir())
			if err == nil && in.PID == child.Process.Pid {
				_, _ = io.Copy(os.Stdout, relay)
				_ = child.Process.Release()
				fmt.Printf("lab: serving in the background (pid %d, log %s)\n", in.PID, logPath)
				return nil
			}
		}
	}
}

func cmdServe(args []string) error {
	fs := flag.NewFlagSet("lab serve", flag.ExitOnError)
	var c config
	c.bind(fs)
	_ = fs.Parse(args)
	return serve(&c, false)
}

// serve runs the lab in this process until SIGINT, SIGTERM or SIGHUP, then
// tears it down; a signal during start-up aborts and tears down too.
func serve(c *config, foreground bool) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	l, err := lab.Start(ctx, c.options())
	if err != nil {
		return err
	}
	printUsage(os.Stdout, l.Info())
	if foreground {
		fmt.Println("lab: running in the foreground; Ctrl-C tears it down")
	}
	<-ctx.Done()
	fmt.Println("lab: stopping")
	return l.Close()
}

// printUsage tells a person how to use the running lab.
func printUsage(w io.Writer, in lab.Info) {
	fmt.Fprintf(w, `
lab %[1]s is up (pid %[2]d, started in %.1fs). Try:

  export KUBECONFIG=%[4]s   # from the host, while the lab runs
  alias kubectl=%[5]s
  kubectl get nodes -o wide
  ip netns exec %[6]s curl http://%[7]s:30080/     # a NodePort, from the client outside the cluster
  ip netns exec %[8]s kubectl --kubeconfig %[9]s get pods -A   # as on the control-plane node
  ip netns exec %[10]s curl http://<cluster-ip>:<port>/          # a ClusterIP, from a node

namespaces: %[8]s (API server), %[10]s..%[11]s (nodes), %[6]s (client %[12]s), %[1]s-sw (LAN switch)
logs:       %[13]s
stop:       lab down

`, in.Tag, in.PID, in.UpSeconds, in.HostKubeconfig, in.Kubectl,
		in.ClientNS, in.Nodes[0].IPs[0], in.CPNamespace, in.Kubeconfig,
		in.Nodes[0].Name, in.Nodes[len(in.Nodes)-1].Name, in.ClientIPs[0],
		filepath.Join(in.StateDir, "logs"))
}
