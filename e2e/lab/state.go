package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StateRoot holds one directory per lab (certificates, kubeconfigs, etcd
// data, logs). /run is tmpfs: etcd is fast there and a reboot clears it.
const StateRoot = "/run/barelb-lab"

const (
	ownerFile = "owner.pid"
	infoFile  = "lab.json"
)

// RunningError reports that a lab with the requested fixed tag is already
// up, owned by a live process: `lab up` says so instead of breaking it.
type RunningError struct {
	Tag      string
	PID      int
	StateDir string
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("lab %s is already running (pid %d, state %s)", e.Tag, e.PID, e.StateDir)
}

// DefaultStateDir is where a lab with this tag keeps its state.
func DefaultStateDir(tag string) string { return filepath.Join(StateRoot, tag) }

// Owner returns the pid owning the lab state in dir if that process is
// alive, else 0.
func Owner(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, ownerFile))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !alive(pid) {
		return 0
	}
	return pid
}

// ProcessAlive reports whether pid runs. A zombie does not: a killed lab
// process may linger unreaped (a container's PID 1 often does not reap),
// and it must not count as a running lab.
func ProcessAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself
	// contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return false
	}
	state := b[i+2]
	return state != 'Z' && state != 'X'
}

func alive(pid int) bool { return ProcessAlive(pid) }

// claimFixed refuses a fixed tag whose lab is still owned by a live process.
func claimFixed(tag, dir string) error {
	if dir == "" {
		dir = DefaultStateDir(tag)
	}
	if pid := Owner(dir); pid != 0 && pid != os.Getpid() {
		return &RunningError{Tag: tag, PID: pid, StateDir: dir}
	}
	return nil
}

// makeStateDir creates a fresh state directory owned by this process.
func (l *Lab) makeStateDir() error {
	l.StateDir = l.opts.StateDir
	if l.StateDir == "" {
		l.StateDir = DefaultStateDir(l.Tag)
	}
	// Anything here belongs to a dead lab (claimFixed or a fresh random
	// tag made sure of that).
	if err := os.RemoveAll(l.StateDir); err != nil {
		return err
	}
	l.logDir = filepath.Join(l.StateDir, "logs")
	if err := os.MkdirAll(l.logDir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.StateDir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

// sweepStateDirs removes state directories of labs whose owner died.
func sweepStateDirs() {
	entries, _ := os.ReadDir(StateRoot)
	for _, e := range entries {
		if !e.IsDir() {
			continue // "lab up" logs beside the directories
		}
		dir := filepath.Join(StateRoot, e.Name())
		if _, err := os.Stat(filepath.Join(dir, ownerFile)); err != nil {
			// No owner yet: a lab being created right now, or debris.
			if st, err := os.Stat(dir); err == nil && time.Since(st.ModTime()) > 10*time.Minute {
				sweepRealNodes(dir)
				_ = os.RemoveAll(dir)
			}
			continue
		}
		if Owner(dir) == 0 {
			sweepRealNodes(dir)
			_ = os.RemoveAll(dir)
		}
	}
}

// Info is the lab's description written to <state>/lab.json, for `lab
// status` and for people.
type Info struct {
	Tag            string          `json:"tag"`
	PID            int             `json:"pid"`
	StateDir       string          `json:"stateDir"`
	Kubeconfig     string          `json:"kubeconfig"`
	HostKubeconfig string          `json:"hostKubeconfig"`
	Kubectl        string          `json:"kubectl"`
	CPNamespace    string          `json:"cpNamespace"`
	ClientNS       string          `json:"clientNamespace"`
	ClientIPs      []string        `json:"clientIPs"`
	Nodes          []NodeInfo      `json:"nodes"`
	Components     []ComponentInfo `json:"components"`
	StartedAt      time.Time       `json:"startedAt"`
	UpSeconds      float64         `json:"upSeconds"`
}

// NodeInfo describes one node in Info.
type NodeInfo struct {
	Name     string   `json:"name"`
	IPs      []string `json:"ips"`
	Mgmt     string   `json:"mgmt"`
	PodCIDRs []string `json:"podCIDRs"`
}

// ComponentInfo describes one process in Info.
type ComponentInfo struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
	PID       int    `json:"pid"`
	Log       string `json:"log"`
}

// Info describes the running lab.
func (l *Lab) Info() Info {
	in := Info{
		Tag: l.Tag, PID: os.Getpid(), StateDir: l.StateDir,
		Kubeconfig: l.Kubeconfig, HostKubeconfig: l.HostKubeconfig, Kubectl: l.tool("kubectl"),
		CPNamespace: l.CP.Name, ClientNS: l.ClientNS.Name,
		ClientIPs: []string{ClientIPv4.String(), ClientIPv6.String()},
		StartedAt: l.began, UpSeconds: time.Since(l.began).Seconds(),
	}
	if l.UpIn > 0 {
		in.UpSeconds = l.UpIn.Seconds()
	}
	for _, n := range l.Nodes {
		in.Nodes = append(in.Nodes, NodeInfo{
			Name: n.Name, IPs: []string{n.IPv4.String(), n.IPv6.String()}, Mgmt: n.Mgmt.String(),
			PodCIDRs: []string{n.PodCIDRs[0].String(), n.PodCIDRs[1].String()},
		})
	}
	for _, c := range l.Components() {
		in.Components = append(in.Components, ComponentInfo{Name: c.Name, Namespace: c.NS.Name, PID: c.PID(), Log: c.Log})
	}
	return in
}

func (l *Lab) writeInfo() error {
	in := l.Info()
	in.UpSeconds = time.Since(l.began).Seconds()
	b, err := json.MarshalIndent(in, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(l.StateDir, infoFile), append(b, '\n'), 0o644)
}

// ReadInfo reads the description of the lab whose state is in dir.
func ReadInfo(dir string) (Info, error) {
	var in Info
	b, err := os.ReadFile(filepath.Join(dir, infoFile))
	if err != nil {
		return in, err
	}
	return in, json.Unmarshal(b, &in)
}
