package lab

import (
	"fmt"
	"os"
	"strings"

	"github.com/barelb/barelb/testsupport/netlab"
)

// LeftoverNamespaces lists namespaces named "<tag>-..." (a lab's, whether
// it runs or not).
func LeftoverNamespaces(tag string) []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tag+"-") {
			out = append(out, e.Name())
		}
	}
	return out
}

// RemoveLeftovers removes what a lab with this tag left behind when its
// process died without tearing down: namespaces (and with them every
// process, link and nftables table inside), and its state directory. It
// refuses while the lab's owner is alive, and returns how many namespaces
// it removed.
func RemoveLeftovers(tag, stateDir string) (int, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir(tag)
	}
	if pid := Owner(stateDir); pid != 0 {
		return 0, &RunningError{Tag: tag, PID: pid, StateDir: stateDir}
	}
	n := len(LeftoverNamespaces(tag))
	sweepRealNodes(stateDir)
	_ = netlab.Sweep() // host links and namespaces of dead netlab owners
	if err := removeTaggedNetns(tag); err != nil {
		return n, fmt.Errorf("remove namespaces of %s: %w", tag, err)
	}
	return n, os.RemoveAll(stateDir)
}
