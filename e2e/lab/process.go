package lab

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Component is one long-running process of the lab (etcd, kube-proxy on
// node2, a speaker ...) that tests may stop and start again, for example to
// take the API server away for 30 seconds or kill the announcing speaker.
type Component struct {
	Name string
	NS   *netlab.Namespace
	Args []string // argv, with environment assignments folded in via env(1)
	Log  string   // path of the log file, appended to across restarts

	// stopTimeout is how long Stop waits after SIGTERM before SIGKILL.
	stopTimeout time.Duration

	mu   sync.Mutex
	proc *netlab.Process
	logf *os.File
}

func newComponent(name string, ns *netlab.Namespace, logDir string, env []string, argv ...string) *Component {
	args := argv
	if len(env) > 0 {
		// netlab starts "ip netns exec NS argv..."; env(1) sets variables
		// for the program without touching the lab's own environment.
		args = append(append([]string{"env"}, env...), argv...)
	}
	return &Component{
		Name:        name,
		NS:          ns,
		Args:        args,
		Log:         filepath.Join(logDir, name+".log"),
		stopTimeout: 5 * time.Second,
	}
}

// Start runs the component unless it is already running.
func (c *Component) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		select {
		case <-c.proc.Done():
		default:
			return nil
		}
	}
	if c.logf == nil {
		f, err := os.OpenFile(c.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return err
		}
		c.logf = f
	}
	fmt.Fprintf(c.logf, "==== %s: start %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(c.Args, " "))
	// A Namespace without its Lab: processes are tracked (and stopped)
	// here, not by netlab, so a stopped component does not linger in the
	// lab's process list across restarts.
	ns := &netlab.Namespace{Name: c.NS.Name}
	p, err := ns.Start(c.logf, c.Args...)
	if err != nil {
		return err
	}
	c.proc = p
	return nil
}

// Stop sends SIGTERM and, after the component's timeout, SIGKILL (the API
// server may ignore SIGTERM). It waits for the exit.
func (c *Component) Stop() {
	c.mu.Lock()
	p := c.proc
	c.mu.Unlock()
	if p == nil {
		return
	}
	_ = p.Signal(syscall.SIGTERM)
	select {
	case <-p.Done():
	case <-time.After(c.stopTimeout):
		p.Kill()
	}
}

// Kill sends SIGKILL at once and waits for the exit (a crash, not a stop).
func (c *Component) Kill() {
	c.mu.Lock()
	p := c.proc
	c.mu.Unlock()
	if p != nil {
		p.Kill()
	}
}

// Restart stops the component and starts it again.
func (c *Component) Restart() error {
	c.Stop()
	return c.Start()
}

// Running reports whether the component's process is alive.
func (c *Component) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return false
	}
	select {
	case <-c.proc.Done():
		return false
	default:
		return true
	}
}

// PID is the process id, or 0 when not started.
func (c *Component) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	return c.proc.Cmd.Process.Pid
}

// close stops the component and releases its log file.
func (c *Component) close() {
	c.Stop()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.logf != nil {
		_ = c.logf.Close()
		c.logf = nil
	}
}

// Tail returns the last n lines of the component's log, for error reports.
func (c *Component) Tail(n int) string {
	b, err := os.ReadFile(c.Log)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
