package lab

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Process and mount bookkeeping for real nodes, read from /proc: the
// shims containerd starts outlive it by design (they are daemons), so the
// lab finds them, and their containers, by what they are rather than by
// what it started.

// procEntry is one process as /proc shows it.
type procEntry struct {
	pid, ppid int
	argv      []string
}

func listProcs() []procEntry {
	ents, _ := os.ReadDir("/proc")
	var out []procEntry
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces and parens.
		i := bytes.LastIndexByte(stat, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(stat[i+1:]))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		out = append(out, procEntry{pid: pid, ppid: ppid, argv: strings.Split(strings.TrimRight(string(cmd), "\x00"), "\x00")})
	}
	return out
}

// shimsOf returns the containerd shims serving the containerd at sock:
// they carry "-address <sock>" on their command line.
func shimsOf(sock string) []int {
	var out []int
	for _, p := range listProcs() {
		if len(p.argv) == 0 || !strings.HasPrefix(filepath.Base(p.argv[0]), "containerd-shim") {
			continue
		}
		for i, a := range p.argv {
			if a == "-address" && i+1 < len(p.argv) && p.argv[i+1] == sock {
				out = append(out, p.pid)
				break
			}
		}
	}
	return out
}

func childrenOf(pid int) []int {
	var out []int
	for _, p := range listProcs() {
		if p.ppid == pid {
			out = append(out, p.pid)
		}
	}
	return out
}

// pidsInMountNS returns the processes in the mount namespace path
// (/proc/<pid>/ns/mnt) names.
func pidsInMountNS(path string) []int {
	want, err := os.Readlink(path)
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var out []int
	for _, p := range listProcs() {
		if p.pid == self {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", p.pid)); err == nil && l == want {
			out = append(out, p.pid)
		}
	}
	return out
}

func killPid(pid int) { _ = syscall.Kill(pid, syscall.SIGKILL) }

// waitGone waits until none of pids runs (a zombie counts as gone).
func waitGone(pids []int, timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for ProcessAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// containerCgroupRE matches the cgroup paths runc gives a container with
// the cgroupfs driver: the last element is the 64-hex container id.
var containerCgroupRE = regexp.MustCompile(`^/(.+/)?[0-9a-f]{64}$`)

// processCgroups returns the cgroup v1 directories of pid that belong to a
// container (see containerCgroupRE), to be removed once it has exited:
// runc removes them on a clean delete, not after a SIGKILL of its shim.
func processCgroups(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || !containerCgroupRE.MatchString(f[2]) {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			// cgroup v2: at "unified" beside the v1 controllers (this
			// host's hybrid layout), else at the root.
			root := "/sys/fs/cgroup"
			if _, err := os.Stat("/sys/fs/cgroup/unified/cgroup.controllers"); err == nil {
				root = "/sys/fs/cgroup/unified"
			}
			out = append(out, filepath.Join(root, f[2]))
			continue
		}
		ctrl := strings.TrimPrefix(strings.Split(f[1], ",")[0], "name=")
		out = append(out, filepath.Join("/sys/fs/cgroup", ctrl, f[2]))
	}
	return out
}

// shimSockets lists the sockets of the node's shims, which containerd 1.6
// puts in the host-wide /run/containerd/s whatever its state directory:
// each task's state holds its shim's address.
func shimSockets(rt *nodeRuntime) []string {
	files, _ := filepath.Glob(rt.path("containerd", "state", "io.containerd.runtime.v2.task", "*", "*", "address"))
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if s := strings.TrimPrefix(strings.TrimSpace(string(b)), "unix://"); strings.HasPrefix(s, "/run/containerd/s/") {
			out = append(out, s)
		}
	}
	return out
}

// removeCgroups removes the (by now empty) cgroup directories; a
// directory that still holds a process stays, with no harm done.
func removeCgroups(dirs []string) {
	for _, d := range dirs {
		deadline := time.Now().Add(2 * time.Second)
		for {
			err := syscall.Rmdir(d)
			if err == nil || err == syscall.ENOENT || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		// The parent (containerd's "k8s.io") goes too once empty; busy
		// with another lab's containers, it stays.
		_ = syscall.Rmdir(filepath.Dir(d))
	}
}

// ProcessesUnder lists the processes whose command line names a path
// under dir, such as a lab's state directory: after a real-node lab's
// Close there must be none (containerd shims carry their socket's path).
func ProcessesUnder(dir string) []string {
	dir = strings.TrimRight(dir, "/") + "/"
	var out []string
	for _, p := range listProcs() {
		for _, a := range p.argv {
			if strings.Contains(a, dir) {
				out = append(out, fmt.Sprintf("%d %s", p.pid, strings.Join(p.argv, " ")))
				break
			}
		}
	}
	return out
}
