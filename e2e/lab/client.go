package lab

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/barelb/barelb/e2e/backend"
	"github.com/barelb/barelb/testsupport/netlab"
)

// Kubectl runs kubectl inside the cp namespace with the lab's kubeconfig
// (as the seed runs it on master1) and returns its combined output.
func (l *Lab) Kubectl(ctx context.Context, args ...string) (string, error) {
	return l.kubectlIn(ctx, nil, args...)
}

// Apply applies YAML manifests given as text, like `kubectl apply -f -`.
func (l *Lab) Apply(ctx context.Context, yaml string) (string, error) {
	return l.kubectlIn(ctx, strings.NewReader(yaml), "apply", "-f", "-")
}

// KubectlStdin runs kubectl with stdin as its standard input (for
// `-f -`).
func (l *Lab) KubectlStdin(ctx context.Context, stdin string, args ...string) (string, error) {
	return l.kubectlIn(ctx, strings.NewReader(stdin), args...)
}

func (l *Lab) kubectlIn(ctx context.Context, stdin *strings.Reader, args ...string) (string, error) {
	argv := append([]string{"netns", "exec", l.CP.Name, l.tool("kubectl"), "--kubeconfig=" + l.Kubeconfig}, args...)
	cmd := exec.CommandContext(ctx, "ip", argv...)
	if stdin != nil {
		cmd.Stdin = stdin
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("kubectl %s: %w", strings.Join(args, " "), err)
	}
	return out.String(), err
}

// URL builds an http URL for addr and port, bracketing IPv6.
func URL(addr netip.Addr, port int) string {
	return "http://" + net.JoinHostPort(addr.String(), strconv.Itoa(port)) + "/"
}

// Curl fetches url with curl from inside ns (a node, the client) and
// returns the body. One attempt with a short timeout: callers poll.
func Curl(ctx context.Context, ns *netlab.Namespace, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns.Name,
		"curl", "-sS", "--connect-timeout", "2", "--max-time", "3", url)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("curl %s from %s: %v: %s", url, ns.Name, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Get curls url from ns and parses the backend's answer.
func Get(ctx context.Context, ns *netlab.Namespace, url string) (backend.Reply, error) {
	body, err := Curl(ctx, ns, url)
	if err != nil {
		return backend.Reply{}, err
	}
	return backend.Parse(body)
}
