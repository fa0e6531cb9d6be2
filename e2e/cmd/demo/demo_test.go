package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/e2e/lab"
)

// TestDemoRealNodes runs `make demo-nodes` (the demo with -real-nodes)
// under a tag of its own, as a person would, and checks what they would
// see: helm install deployed, every barelb Pod Running on both real
// nodes, the seeds' NodePort answering from both nodes, and the VM's Pod
// answering the outside client through the LoadBalancer IP. The lab it
// leaves is torn down with `lab down`. Root, and BARELB_E2E=1 or CI.
func TestDemoRealNodes(t *testing.T) {
	if os.Getenv("BARELB_E2E") == "" && os.Getenv("CI") == "" {
		t.Skip("end-to-end test: set BARELB_E2E=1 (runs in CI)")
	}
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("needs root; CI runs as root, so this is a setup error")
		}
		t.Skip("needs root and network namespaces")
	}
	root, err := lab.FindRepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	tag := "dm" + hex.EncodeToString(b)
	t.Cleanup(func() {
		down := exec.Command("go", "run", "./e2e/cmd/lab", "down", "--tag="+tag)
		down.Dir = root
		if out, err := down.CombinedOutput(); err != nil {
			t.Errorf("lab down --tag=%s: %v: %s", tag, err, out)
		}
		if left := lab.ProcessesUnder(lab.DefaultStateDir(tag)); len(left) > 0 {
			t.Errorf("processes left after lab down:\n%s", strings.Join(left, "\n"))
		}
	})
	cmd := exec.Command("go", "run", "./e2e/cmd/demo", "-real-nodes", "-tag="+tag)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	began := time.Now()
	err = cmd.Run()
	took := time.Since(began)
	if err != nil {
		t.Fatalf("demo -real-nodes: %v\n%s", err, out.String())
	}
	t.Logf("demo -real-nodes took %.0fs", took.Seconds())
	text := out.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^STATUS: deployed$`),
		regexp.MustCompile(`(?m)^barelb-controller-\S+\s+1/1\s+Running\s+0 .*` + tag + `-node`),
		regexp.MustCompile(`(?m)^barelb-speaker-\S+\s+1/1\s+Running\s+\d+ .*` + tag + `-node1`),
		regexp.MustCompile(`(?m)^barelb-speaker-\S+\s+1/1\s+Running\s+\d+ .*` + tag + `-node2`),
		regexp.MustCompile(`(?m)^example-service\s+NodePort\s`),
		regexp.MustCompile(`(?m)^example-service\s+LoadBalancer\s+\S+\s+<pending>`),
		regexp.MustCompile(`Pending: Create an IPAddressPool`),
		regexp.MustCompile(`(?m)^example-service\s+LoadBalancer\s+\S+\s+198\.18\.1\.13[6-9]\s+80:30000/TCP`),
		regexp.MustCompile(`curl -s http://198\.18\.1\.13[6-9]:80/\n.*Pod Name: virt-launcher-example-vm`),
		regexp.MustCompile(`(?m)^demo: done in \d+s`),
	} {
		if !want.MatchString(text) {
			t.Errorf("the demo's output lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("demo output:\n%s", text)
	}
}
