package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// toolNames are the Kubernetes binaries the lab runs, built and cached by
// hack/tools.sh from the pinned tools modules.
var toolNames = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kubectl"}

// resolveBinaries finds (building on first use) the tools and the backend.
func (l *Lab) resolveBinaries(ctx context.Context) error {
	l.tools = map[string]string{}
	root := l.opts.RepoRoot
	needRoot := l.opts.ToolsDir == "" || l.opts.BackendPath == "" || l.opts.RealNodes
	if root == "" && needRoot {
		var err error
		if root, err = FindRepoRoot(); err != nil {
			return err
		}
		l.opts.RepoRoot = root
	}
	names := toolNames
	if l.opts.RealNodes {
		names = append(append([]string(nil), toolNames...), toolsRealNodes...)
	}
	for _, t := range names {
		if l.opts.ToolsDir != "" {
			l.tools[t] = filepath.Join(l.opts.ToolsDir, t)
		} else {
			cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "tools.sh"), t)
			cmd.Dir = root
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("hack/tools.sh %s: %v: %s", t, err, stderr.String())
			}
			l.tools[t] = lastLine(out)
		}
		if st, err := os.Stat(l.tools[t]); err != nil || st.IsDir() {
			return fmt.Errorf("tool %s not found at %s", t, l.tools[t])
		}
	}
	if l.opts.RealNodes {
		return l.resolveRealNodeBinaries(ctx)
	}
	return nil
}

// buildBackend builds e2e/cmd/backend into the state directory unless
// Options.BackendPath names a binary; go build's cache makes it quick.
func (l *Lab) buildBackend(ctx context.Context) error {
	l.backendPath = l.opts.BackendPath
	if l.backendPath != "" {
		return nil
	}
	l.backendPath = filepath.Join(l.StateDir, "bin", "backend")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", l.backendPath, "./e2e/cmd/backend")
	cmd.Dir = l.opts.RepoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build backend: %v: %s", err, out)
	}
	return nil
}

// tool returns the path of a resolved tool binary.
func (l *Lab) tool(name string) string { return l.tools[name] }

func lastLine(b []byte) string {
	var last string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			last = s
		}
	}
	return last
}

// FindRepoRoot walks up from the working directory to the barelb module's
// go.mod.
func FindRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && modulePath(b) == "github.com/barelb/barelb" {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("lab: not inside the barelb checkout (no go.mod for github.com/barelb/barelb); set Options.RepoRoot")
		}
		dir = parent
	}
}

// modulePath returns the module path declared in a go.mod.
func modulePath(gomod []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(gomod))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}
