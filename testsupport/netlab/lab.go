package netlab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// stateDir records which process owns each lab so Sweep can remove labs
// whose owner died without cleaning up (a SIGKILLed test binary).
const stateDir = "/run/barelb-netlab"

// Lab is one test's set of namespaces, host links and processes.
type Lab struct {
	// Tag is the short unique token in every name this lab creates.
	Tag string

	mu         sync.Mutex
	namespaces []*Namespace
	hostLinks  []string
	procs      []*Process
	closed     bool
}

// New creates an empty lab with a fresh tag. prefix (at most 4 characters)
// makes names readable, for example "l2" gives namespaces "l2a1b2-node1".
func New(prefix string) (*Lab, error) {
	if len(prefix) > 4 {
		return nil, fmt.Errorf("netlab: prefix %q longer than 4 characters", prefix)
	}
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	l := &Lab{Tag: prefix + hex.EncodeToString(b)}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	if err := writeOwner(l.Tag); err != nil {
		return nil, err
	}
	return l, nil
}

// writeOwner records this process as the lab's owner. The file appears
// whole (temp file + rename) so a concurrent Sweep never reads it empty and
// mistakes a lab being built for an abandoned one.
func writeOwner(tag string) error {
	tmp, err := os.CreateTemp(stateDir, ".tmp-"+tag)
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(strconv.Itoa(os.Getpid())); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(stateDir, tag))
}

// NewFixed creates a lab whose names use tag verbatim, for the long-lived
// demo lab whose namespace names are documented for people to use.
func NewFixed(tag string) (*Lab, error) {
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	l := &Lab{Tag: tag}
	return l, writeOwner(tag)
}

// AllowedPrefix reports whether p lies inside the ranges labs may use.
func AllowedPrefix(p netip.Prefix) bool {
	for _, r := range allowed {
		if r.Bits() <= p.Bits() && r.Contains(p.Addr()) {
			return true
		}
	}
	return false
}

var allowed = []netip.Prefix{
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("2001:db8::/32"),
}

// Name returns the lab-unique name for a short suffix, e.g. "l2a1b2-node1".
func (l *Lab) Name(suffix string) string { return l.Tag + "-" + suffix }

// LinkName returns a lab-unique interface name that fits IFNAMSIZ (15).
func (l *Lab) LinkName(suffix string) (string, error) {
	n := l.Tag + suffix
	if len(n) > 15 {
		return "", fmt.Errorf("netlab: link name %q longer than 15 characters", n)
	}
	return n, nil
}

// Close stops every process and removes every namespace and host link the
// lab made. It is safe to call more than once and collects all errors.
func (l *Lab) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	procs, nss, links := l.procs, l.namespaces, l.hostLinks
	l.mu.Unlock()

	var errs []error
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	for _, link := range links {
		if err := run("ip", "link", "del", link); err != nil && !strings.Contains(err.Error(), "Cannot find device") {
			errs = append(errs, err)
		}
	}
	for i := len(nss) - 1; i >= 0; i-- {
		if err := nss[i].remove(); err != nil {
			errs = append(errs, err)
		}
	}
	_ = os.Remove(filepath.Join(stateDir, l.Tag))
	return errors.Join(errs...)
}

// Sweep removes labs left behind by processes that no longer exist, so a
// killed test run does not leak namespaces into the next one.
func Sweep() error {
	entries, err := os.ReadDir(stateDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(stateDir, e.Name()))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || processAlive(pid) {
			continue // unreadable owner: leave it rather than risk a live lab
		}
		if err := removeTagged(e.Name()); err != nil {
			errs = append(errs, err)
		}
		_ = os.Remove(filepath.Join(stateDir, e.Name()))
	}
	return errors.Join(errs...)
}

// processAlive reports whether pid runs. A zombie (exited, not yet
// reaped; common when PID 1 in a container reaps slowly) is dead: its
// labs must be swept.
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself
	// contain spaces or parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// removeTagged deletes namespaces and host links whose names start with tag,
// and kills processes still running inside those namespaces.
func removeTagged(tag string) error {
	var errs []error
	out, _ := exec.Command("ip", "-o", "link", "show").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		name := strings.SplitN(strings.TrimSuffix(f[1], ":"), "@", 2)[0]
		if strings.HasPrefix(name, tag) {
			_ = run("ip", "link", "del", name)
		}
	}
	out, _ = exec.Command("ip", "netns", "list").Output()
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], tag+"-") {
			continue
		}
		ns := &Namespace{Name: f[0]}
		if err := ns.remove(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
