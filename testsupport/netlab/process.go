package netlab

import (
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is a command a lab started inside one of its namespaces.
type Process struct {
	Cmd  *exec.Cmd
	done chan struct{}
	once sync.Once
	err  error
}

// Start runs args inside ns in its own process group, with output sent to
// out (nil discards it). Lab.Close stops it if the test has not.
func (ns *Namespace) Start(out io.Writer, args ...string) (*Process, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("netlab: start %v in %s: %w", args, ns.Name, err)
	}
	p := &Process{Cmd: cmd, done: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	if ns.lab != nil {
		ns.lab.mu.Lock()
		ns.lab.procs = append(ns.lab.procs, p)
		ns.lab.mu.Unlock()
	}
	return p, nil
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit error, valid after Done is closed.
func (p *Process) Err() error { <-p.done; return p.err }

// Signal sends sig to the process group.
func (p *Process) Signal(sig syscall.Signal) error {
	return syscall.Kill(-p.Cmd.Process.Pid, sig)
}

// Kill sends SIGKILL to the process group and waits for the exit.
func (p *Process) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop asks the process to terminate and kills it if it has not exited
// within five seconds (kube-apiserver, for one, may ignore SIGTERM).
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			p.Kill()
		}
	})
}
