package netlab

import (
	"fmt"
	"net/netip"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
)

// Namespace is one network namespace of a lab: a node, a client, a router
// or a switch.
type Namespace struct {
	Name string
	lab  *Lab
}

// AddNamespace creates the namespace lab.Name(suffix) with loopback up,
// IPv6 enabled and duplicate address detection off, so addresses are
// usable the moment they are added.
func (l *Lab) AddNamespace(suffix string) (*Namespace, error) {
	ns := &Namespace{Name: l.Name(suffix), lab: l}
	if err := run("ip", "netns", "add", ns.Name); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.namespaces = append(l.namespaces, ns)
	l.mu.Unlock()
	for _, args := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0"},
		{"sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=0"},
		{"sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0"},
		{"sysctl", "-qw", "net.ipv6.conf.default.accept_dad=0"},
	} {
		if err := ns.Exec(args...); err != nil {
			return nil, err
		}
	}
	return ns, nil
}

// Exec runs a command inside the namespace and waits for it.
func (ns *Namespace) Exec(args ...string) error {
	return run("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
}

// Output runs a command inside the namespace and returns its standard output.
func (ns *Namespace) Output(args ...string) (string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns.Name}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), fmt.Errorf("%s in %s: %v: %s", strings.Join(args, " "), ns.Name, err, strings.TrimSpace(string(ee.Stderr)))
		}
		return string(out), err
	}
	return string(out), nil
}

// Do runs fn on an OS thread switched into the namespace. Sockets opened in
// fn stay in the namespace after Do returns, so a test can create a
// responder's sockets here and serve them from any goroutine.
func (ns *Namespace) Do(fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// The thread is never unlocked: if switching back failed it must
		// die with the goroutine rather than serve other goroutines from
		// the wrong namespace.
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromName(ns.Name)
		if err != nil {
			errc <- fmt.Errorf("netlab: open namespace %s: %w", ns.Name, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- fmt.Errorf("netlab: enter namespace %s: %w", ns.Name, err)
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- fmt.Errorf("netlab: leave namespace %s: %w", ns.Name, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// AddAddr assigns a prefix such as "198.18.1.2/24" to dev. It refuses
// addresses outside the lab ranges.
func (ns *Namespace) AddAddr(dev, cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return err
	}
	if !AllowedPrefix(p) {
		return fmt.Errorf("netlab: %s is outside 198.18.0.0/15 and 2001:db8::/32", cidr)
	}
	args := []string{"ip", "addr", "add", cidr, "dev", dev}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	return ns.Exec(args...)
}

// AddRoute adds a route inside the namespace; dst and via must be lab addresses.
func (ns *Namespace) AddRoute(dst, via string) error {
	p, err := netip.ParsePrefix(dst)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(via)
	if err != nil {
		return err
	}
	if !AllowedPrefix(p) || !AllowedPrefix(netip.PrefixFrom(a, a.BitLen())) {
		return fmt.Errorf("netlab: route %s via %s leaves the lab ranges", dst, via)
	}
	return ns.Exec("ip", "route", "add", dst, "via", via)
}

// LinkUp and LinkDown change an interface's administrative state.
func (ns *Namespace) LinkUp(dev string) error   { return ns.Exec("ip", "link", "set", dev, "up") }
func (ns *Namespace) LinkDown(dev string) error { return ns.Exec("ip", "link", "set", dev, "down") }

// MAC returns the hardware address of dev.
func (ns *Namespace) MAC(dev string) (string, error) {
	out, err := ns.Output("cat", "/sys/class/net/"+dev+"/address")
	return strings.TrimSpace(out), err
}

// remove kills every process still inside the namespace, then deletes it.
func (ns *Namespace) remove() error {
	out, _ := exec.Command("ip", "netns", "pids", ns.Name).Output()
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	var err error
	// Deletion can fail briefly while killed processes still hold the
	// namespace; retry for a short, bounded time.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if err = run("ip", "netns", "del", ns.Name); err == nil || strings.Contains(err.Error(), "No such file") {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
