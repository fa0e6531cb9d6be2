// Package procmem reads a benchmark's figures of a running process from
// /proc: peak and current RSS, their anonymous and file-backed parts, how
// much of its own binary is resident, and its CPU time. Linux only.
package procmem

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Figures are one process' memory, in MiB, and CPU seconds.
type Figures struct {
	PID        int
	HWM, RSS   float64 // VmHWM, VmRSS
	Anon, File float64 // RssAnon, RssFile
	Binary     string  // resident pages of the executable by mapping, "" if unknown
	CPUSeconds float64 // user + system
	Comm       string
}

// Detail is the breakdown line the benchmarks print under a figure.
func (f Figures) Detail() string {
	parts := []string{fmt.Sprintf("RssAnon %.1f MiB", f.Anon), fmt.Sprintf("RssFile %.1f MiB", f.File)}
	if f.Binary != "" {
		parts = append(parts, f.Binary)
	}
	parts = append(parts, fmt.Sprintf("CPU %.1fs", f.CPUSeconds))
	return fmt.Sprintf("pid %d %s: %s", f.PID, f.Comm, strings.Join(parts, ", "))
}

// Read returns pid's figures.
func Read(pid int) (Figures, error) {
	f := Figures{PID: pid}
	comm, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	f.Comm = strings.TrimSpace(string(comm))
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return f, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(fs[1], 64)
		switch fs[0] {
		case "VmHWM:":
			f.HWM = kb / 1024
		case "VmRSS:":
			f.RSS = kb / 1024
		case "RssAnon:":
			f.Anon = kb / 1024
		case "RssFile:":
			f.File = kb / 1024
		}
	}
	f.Binary = binaryMappings(pid)
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// utime and stime, fields 14 and 15, in clock ticks (100 per
		// second on Linux), after the command name's closing parenthesis.
		if fs := strings.Fields(string(st[strings.LastIndexByte(string(st), ')')+1:])); len(fs) > 12 {
			u, _ := strconv.ParseFloat(fs[11], 64)
			k, _ := strconv.ParseFloat(fs[12], 64)
			f.CPUSeconds = (u + k) / 100
		}
	}
	return f, nil
}

// Children are pid's child processes: those of each of its threads (a Go
// program forks from whichever thread its goroutine runs on).
func Children(pid int) []int {
	tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	var out []int
	for _, t := range tasks {
		kids, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", pid, t.Name()))
		for _, s := range strings.Fields(string(kids)) {
			if k, err := strconv.Atoi(s); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}

// Find returns pid, or the first descendant along first children whose
// command is comm when pid is a wrapper (ip netns exec, env); pid itself
// when none is.
func Find(pid int, comm string) int {
	p := pid
	for range 4 {
		c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", p))
		if strings.TrimSpace(string(c)) == comm {
			return p
		}
		kids := Children(p)
		if len(kids) == 0 {
			return pid
		}
		p = kids[0]
	}
	return pid
}

// Child returns pid's child whose command is comm, or 0.
func Child(pid int, comm string) int {
	for _, k := range Children(pid) {
		c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", k))
		if strings.TrimSpace(string(c)) == comm {
			return k
		}
	}
	return 0
}

// binaryMappings sums smaps' Rss of the process's own executable by
// permission (r-xp: text, r--p: rodata and pclntab, rw-p: data), less
// their anonymous pages, which is where its RssFile goes: pages of the
// binary it touched, and those the kernel's fault-around mapped with them
// (64 KiB, or a whole large folio of the page cache, per fault).
func binaryMappings(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return ""
	}
	var order []string
	kb := map[string]float64{}
	perm := ""
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 6 && strings.Contains(f[0], "-") && len(f[1]) == 4:
			perm = ""
			if f[5] == exe {
				perm = f[1]
				if _, ok := kb[perm]; !ok {
					order = append(order, perm)
				}
			}
		case perm != "" && len(f) >= 2 && f[0] == "Rss:":
			v, _ := strconv.ParseFloat(f[1], 64)
			kb[perm] += v
		case perm != "" && len(f) >= 2 && f[0] == "Anonymous:":
			// Written data and bss pages are anonymous, and the kernel may
			// merge an adjacent anonymous mapping into the data one: only
			// the file's own pages are counted.
			v, _ := strconv.ParseFloat(f[1], 64)
			kb[perm] -= v
		}
	}
	var out []string
	for _, p := range order {
		out = append(out, fmt.Sprintf("%s %.1f", p, kb[p]/1024))
	}
	if len(out) == 0 {
		return ""
	}
	return "binary " + strings.Join(out, " ") + " MiB"
}
