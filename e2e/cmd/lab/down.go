package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// cmdDown asks the lab process to tear down (SIGTERM), kills it if it does
// not finish in time, and then removes whatever a dead lab left behind.
func cmdDown(args []string) error {
	fs := flag.NewFlagSet("lab down", flag.ExitOnError)
	var c config
	c.bind(fs)
	wait := fs.Duration("wait", 90*time.Second, "how long to wait for a clean teardown before SIGKILL")
	_ = fs.Parse(args)
	if os.Geteuid() != 0 {
		return errors.New("needs root")
	}
	pid := lab.Owner(c.dir())
	if pid != 0 {
		fmt.Printf("lab: stopping lab %s (pid %d) ...\n", c.tag, pid)
		_ = syscall.Kill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(*wait)
		for lab.Owner(c.dir()) == pid && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond) // polling another process's exit
		}
		if lab.Owner(c.dir()) == pid {
			fmt.Printf("lab: pid %d did not finish in %v; killing it\n", pid, *wait)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for lab.Owner(c.dir()) == pid {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	n, err := lab.RemoveLeftovers(c.tag, c.dir())
	if err != nil {
		return err
	}
	// The background process's log, kept until a clean teardown.
	_ = os.Remove(filepath.Join(lab.StateRoot, c.tag+".log"))
	switch {
	case pid != 0:
		fmt.Printf("lab %s is down\n", c.tag)
	case n > 0:
		fmt.Printf("lab %s was not running; removed %d leftover namespaces\n", c.tag, n)
	default:
		fmt.Printf("lab %s is not running\n", c.tag)
	}
	return nil
}
