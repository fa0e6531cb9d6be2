package main

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// config is what up and serve share: enough to build lab.Options, and to
// pass along to the background serve process as flags.
type config struct {
	tag, stateDir       string
	nodes               int
	controller, speaker string
	controllerArgs      multi
	speakerArgs         multi
	manifests           multi
	timeout             time.Duration
	realNodes           bool
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// Defaults for barelb's binaries as `make build` leaves them, and the
// arguments the lab passes them. $(VAR) is expanded per process (see
// lab.Program). Leader election is off: there is one controller.
var (
	defaultControllerArgs = []string{"--leader-elect=false"}
	defaultSpeakerArgs    = lab.SpeakerArgs()
)

func (c *config) bind(fs *flag.FlagSet) {
	root, _ := lab.FindRepoRoot()
	fs.StringVar(&c.tag, "tag", "barelb", "lab tag: namespaces are <tag>-node1 ... and <tag>-client")
	fs.StringVar(&c.stateDir, "state-dir", "", "state directory (default "+lab.StateRoot+"/<tag>)")
	fs.IntVar(&c.nodes, "nodes", 3, "number of nodes")
	fs.StringVar(&c.controller, "controller", filepath.Join(root, "bin", "controller"), "barelb controller binary (skipped if missing)")
	fs.StringVar(&c.speaker, "speaker", filepath.Join(root, "bin", "speaker"), "barelb speaker binary (skipped if missing)")
	fs.Var(&c.controllerArgs, "controller-arg", "controller argument (repeatable; replaces the defaults "+strings.Join(defaultControllerArgs, " ")+")")
	fs.Var(&c.speakerArgs, "speaker-arg", "speaker argument (repeatable; replaces the defaults "+strings.Join(defaultSpeakerArgs, " ")+")")
	fs.Var(&c.manifests, "manifest", "file or directory applied before barelb starts (repeatable; default config/crd and config/rbac if present, none with --real-nodes)")
	fs.BoolVar(&c.realNodes, "real-nodes", false, "run containerd and a real kubelet on every node (barelb is then installed as Pods, not started as processes)")
	fs.DurationVar(&c.timeout, "timeout", 4*time.Minute, "how long bringing the lab up may take")
}

func (c *config) dir() string {
	if c.stateDir != "" {
		return c.stateDir
	}
	return lab.DefaultStateDir(c.tag)
}

// args renders c as flags for the background serve process.
func (c *config) args() []string {
	a := []string{
		"--tag=" + c.tag, "--state-dir=" + c.dir(), "--nodes=" + strconv.Itoa(c.nodes),
		"--controller=" + c.controller, "--speaker=" + c.speaker, "--timeout=" + c.timeout.String(),
	}
	if c.realNodes {
		a = append(a, "--real-nodes")
	}
	for _, v := range c.controllerArgs {
		a = append(a, "--controller-arg="+v)
	}
	for _, v := range c.speakerArgs {
		a = append(a, "--speaker-arg="+v)
	}
	for _, v := range c.manifests {
		a = append(a, "--manifest="+v)
	}
	return a
}

func (c *config) options() lab.Options {
	root, _ := lab.FindRepoRoot()
	o := lab.Options{
		Tag: c.tag, StateDir: c.dir(), Nodes: c.nodes, RepoRoot: root,
		Manifests:    c.manifests,
		StartTimeout: c.timeout,
		Log:          os.Stdout,
		RealNodes:    c.realNodes,
	}
	// Real nodes get barelb, CRDs and RBAC included, from helm install
	// or config/deploy: objects applied beforehand would be refused by
	// helm as not its own.
	if o.Manifests == nil && root != "" && !c.realNodes {
		o.Manifests = []string{filepath.Join(root, "config", "crd"), filepath.Join(root, "config", "rbac")}
	}
	ca, sa := []string(c.controllerArgs), []string(c.speakerArgs)
	if ca == nil {
		ca = defaultControllerArgs
	}
	if sa == nil {
		sa = defaultSpeakerArgs
	}
	if c.realNodes {
		return o // barelb runs as Pods: kubectl apply config/deploy, or helm
	}
	o.Controller = &lab.Program{Path: c.controller, Args: ca}
	o.Speaker = &lab.Program{Path: c.speaker, Args: sa}
	return o
}
