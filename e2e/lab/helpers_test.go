package lab

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestExpand(t *testing.T) {
	vars := map[string]string{"NODE_NAME": "barelb-node2", "NODE_IP": "198.18.1.132"}
	for in, want := range map[string]string{
		"--node-name=$(NODE_NAME)":           "--node-name=barelb-node2",
		"$(NODE_IP):7946":                    "198.18.1.132:7946",
		"--x=$(UNKNOWN)":                     "--x=$(UNKNOWN)",
		"plain":                              "plain",
		"$(NODE_NAME)/$(NODE_IP)/$(NODE_IP)": "barelb-node2/198.18.1.132/198.18.1.132",
	} {
		if got := expand(in, vars); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestModulePath(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/barelb/barelb\n\ngo 1.26.0\n":    "github.com/barelb/barelb",
		"// comment\nmodule \"example.com/x\"\n":            "example.com/x",
		"go 1.26\n":                                         "",
		"module github.com/barelb/barelb/hack/tools/kube\n": "github.com/barelb/barelb/hack/tools/kube",
	} {
		if got := modulePath([]byte(in)); got != want {
			t.Errorf("modulePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClip(t *testing.T) {
	got := clip(strings.Repeat("x", 50)+"\nb\nc\nd", 2, 10)
	if got != "xxxxxxxxxx...\nb\n... (2 more lines)" {
		t.Errorf("clip = %q", got)
	}
}

func TestProcessAlive(t *testing.T) {
	if !ProcessAlive(os.Getpid()) {
		t.Error("this process is not alive")
	}
	if ProcessAlive(1 << 30) {
		t.Error("a pid beyond pid_max is alive")
	}
}

func TestProcessesUnder(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command("sh", "-c", "sleep 30; :", dir+"/x") // $0 names the directory
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); _ = cmd.Wait() }()
	// Until the child has exec'd, its command line is this test's.
	var left []string
	for deadline := time.Now().Add(5 * time.Second); len(left) == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		left = ProcessesUnder(dir)
	}
	if len(left) != 1 || !strings.HasPrefix(left[0], strconv.Itoa(cmd.Process.Pid)+" ") {
		t.Errorf("ProcessesUnder(%s) = %q, want the sleep (pid %d)", dir, left, cmd.Process.Pid)
	}
	if got := ProcessesUnder(dir + "-other"); len(got) != 0 {
		t.Errorf("ProcessesUnder of another directory = %q", got)
	}
}
