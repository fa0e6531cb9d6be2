package frrlab

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/netlab"
)

// Binary locations of Debian's frr package.
var (
	ZebraPath = "/usr/lib/frr/zebra"
	BGPDPath  = "/usr/lib/frr/bgpd"
	VtyshPath = "vtysh"
)

// Config is what a Router starts with.
type Config struct {
	// BGPD is bgpd's configuration file, in frr.conf syntax.
	BGPD string
	// Zebra is zebra's configuration file; empty is fine.
	Zebra string
	// StartTimeout bounds the wait for both daemons to answer vtysh;
	// 0 means 15 seconds.
	StartTimeout time.Duration
}

// Router is zebra and bgpd running in one namespace.
type Router struct {
	NS  *netlab.Namespace
	Dir string

	zebra, bgpd *netlab.Process
}

// Start writes the configuration into a fresh directory and starts zebra,
// then bgpd, inside ns, and waits until both answer on their vty sockets.
// On error everything started is stopped again.
func Start(ns *netlab.Namespace, cfg Config) (r *Router, err error) {
	dir, err := os.MkdirTemp("", "frrlab-"+ns.Name+"-")
	if err != nil {
		return nil, err
	}
	r = &Router{NS: ns, Dir: dir}
	defer func() {
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	if err := r.prepareDir(cfg); err != nil {
		return nil, err
	}
	common := func(daemon string) []string {
		return []string{
			"-u", "frr", "-g", "frr",
			"--vty_socket", dir,
			"-i", filepath.Join(dir, daemon+".pid"),
			"-z", filepath.Join(dir, "zserv.api"),
			"-f", filepath.Join(dir, daemon+".conf"),
			"-P", "0", // no TCP vty: the unix socket in dir is enough
			"--log", "file:" + filepath.Join(dir, daemon+".log"),
		}
	}
	if r.zebra, err = ns.Start(nil, append([]string{ZebraPath}, common("zebra")...)...); err != nil {
		return nil, err
	}
	timeout := cfg.StartTimeout
	if timeout == 0 {
		timeout = 15 * time.Second
	}
	deadline := time.Now().Add(timeout)
	if err := r.waitDaemon("zebra", r.zebra, deadline); err != nil {
		return nil, err
	}
	if r.bgpd, err = ns.Start(nil, append([]string{BGPDPath}, common("bgpd")...)...); err != nil {
		return nil, err
	}
	if err := r.waitDaemon("bgpd", r.bgpd, deadline); err != nil {
		return nil, err
	}
	return r, nil
}

// StartForTest starts a router that is closed when the test ends; on
// failure the daemons' logs are attached to the test output.
func StartForTest(t testing.TB, ns *netlab.Namespace, cfg Config) *Router {
	t.Helper()
	r, err := Start(ns, cfg)
	if err != nil {
		t.Fatalf("frrlab: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("frrlab %s logs:\n%s", ns.Name, r.Logs())
		}
		r.Close()
	})
	return r
}

func (r *Router) prepareDir(cfg Config) error {
	u, err := user.Lookup("frr")
	if err != nil {
		return fmt.Errorf("frrlab: the frr user is missing (is Debian's frr installed?): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	files := map[string]string{"zebra.conf": cfg.Zebra, "bgpd.conf": cfg.BGPD}
	for name, body := range files {
		p := filepath.Join(r.Dir, name)
		if err := os.WriteFile(p, []byte(body), 0o640); err != nil {
			return err
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return err
		}
	}
	if err := os.Chmod(r.Dir, 0o750); err != nil {
		return err
	}
	return os.Chown(r.Dir, uid, gid)
}

func (r *Router) waitDaemon(daemon string, p *netlab.Process, deadline time.Time) error {
	for {
		select {
		case <-p.Done():
			return fmt.Errorf("frrlab: %s exited during start: %v\n%s", daemon, p.Err(), r.Logs())
		default:
		}
		if _, err := r.vtysh(daemon, "show version"); err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("frrlab: %s did not answer on its vty socket in time\n%s", daemon, r.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops bgpd, then zebra (zebra removes the routes it installed
// when it exits), and removes the router's directory.
func (r *Router) Close() {
	if r.bgpd != nil {
		r.bgpd.Stop()
	}
	if r.zebra != nil {
		r.zebra.Stop()
	}
	_ = os.RemoveAll(r.Dir)
}

// KillBGPD stops bgpd abruptly, as a router crash would.
func (r *Router) KillBGPD() {
	if r.bgpd != nil {
		r.bgpd.Kill()
	}
}

// Logs returns the daemons' log files, for failure reports.
func (r *Router) Logs() string {
	var b strings.Builder
	for _, d := range []string{"zebra", "bgpd"} {
		data, err := os.ReadFile(filepath.Join(r.Dir, d+".log"))
		if err != nil {
			continue
		}
		// The tail is what explains a failure; keep reports readable.
		if len(data) > 16<<10 {
			data = data[len(data)-16<<10:]
		}
		fmt.Fprintf(&b, "--- %s.log ---\n%s\n", d, data)
	}
	return b.String()
}

// Vtysh runs show or exec commands, each as one -c argument, against all
// daemons and returns the combined output.
func (r *Router) Vtysh(cmds ...string) (string, error) { return r.vtysh("", cmds...) }

func (r *Router) vtysh(daemon string, cmds ...string) (string, error) {
	args := []string{"--vty_socket", r.Dir}
	if daemon != "" {
		args = append(args, "-d", daemon)
	}
	for _, c := range cmds {
		args = append(args, "-c", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, VtyshPath, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("vtysh %s: %v: %s%s", strings.Join(cmds, " / "), err, errb.String(), out.String())
	}
	return out.String(), nil
}

// Configure applies configuration lines as if typed after
// "configure terminal".
func (r *Router) Configure(lines ...string) error {
	out, err := r.Vtysh(append([]string{"configure terminal"}, lines...)...)
	if err != nil {
		return err
	}
	// vtysh exits 0 on some rejected lines; FRR prints "% ..." for them.
	if strings.Contains(out, "% ") {
		return errors.New("frrlab: configuration rejected: " + strings.TrimSpace(out))
	}
	return nil
}
