package bgp

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-logr/logr/funcr"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "dial tcp 198.18.0.11:0->198.18.0.1:179: i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestGobgpLoggerLastError(t *testing.T) {
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, prefix+" "+args) }, funcr.Options{Verbosity: 4})
	l := newGobgpLogger(log, "hunter2")

	l.Debug("failed to connect", gobgplog.Fields{"Key": "198.18.0.1", "Error": timeoutErr{}})
	if e := l.lastErr(); !strings.Contains(e, "MD5") || !strings.Contains(e, "i/o timeout") {
		t.Errorf("connect timeout with a password: %q", e)
	}
	l.Warn("received notification", gobgplog.Fields{"Code": uint8(bgp.BGP_ERROR_OPEN_MESSAGE_ERROR), "Subcode": uint8(bgp.BGP_ERROR_SUB_BAD_PEER_AS)})
	if e := l.lastErr(); !strings.Contains(e, "peer sent NOTIFICATION") || !strings.Contains(strings.ToLower(e), "bad peer as") {
		t.Errorf("received notification: %q", e)
	}
	l.Info("Peer Down", gobgplog.Fields{"Reason": "notification-received"})
	if e := l.lastErr(); !strings.Contains(e, "peer sent NOTIFICATION") {
		t.Errorf("Peer Down replaced the more specific reason: %q", e)
	}
	l.Info("Peer Up", nil)
	if e := l.lastErr(); e != "" {
		t.Errorf("Peer Up did not clear: %q", e)
	}
	l.Info("Peer Down", gobgplog.Fields{"Reason": "hold-timer-expired"})
	if e := l.lastErr(); e != "session went down: hold-timer-expired" {
		t.Errorf("Peer Down alone: %q", e)
	}

	l.setError("dynamicASN internal, but ...")
	l.Warn("sent notification", gobgplog.Fields{"Code": uint8(6), "Subcode": uint8(2)})
	if e := l.lastErr(); !strings.HasPrefix(e, "dynamicASN") {
		t.Errorf("a consequence replaced barelb's own error: %q", e)
	}
	l.Info("Peer Up", nil)
	if l.lastErr() != "" {
		t.Error("Peer Up did not clear a sticky error")
	}

	// Passwords never reach the sink or LastError, whatever GoBGP logs.
	l.Warn("something with hunter2 inside", gobgplog.Fields{"Data": "pw=hunter2", "Error": errors.New("x hunter2")})
	l.Debug("failed to connect", gobgplog.Fields{"Error": fmt.Errorf("bind hunter2: refused")})
	for _, line := range lines {
		if strings.Contains(line, "hunter2") {
			t.Errorf("password logged: %s", line)
		}
	}
	if strings.Contains(l.lastErr(), "hunter2") {
		t.Errorf("password in LastError: %s", l.lastErr())
	}
}

func TestGobgpLoggerVerbosity(t *testing.T) {
	var lines []string
	log := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{Verbosity: 0})
	l := newGobgpLogger(log, "")
	l.Debug("noise", nil)
	l.Info("info", nil)
	l.Warn("warning", gobgplog.Fields{"b": 2, "a": 1, "Topic": "Peer"})
	l.Error("error", nil)
	if len(lines) != 2 || !strings.Contains(lines[0], `"msg"="warning" "a"="1" "b"="2"`) || !strings.Contains(lines[1], "error") {
		t.Errorf("lines %q", lines)
	}
	if l.GetLevel() != gobgplog.DebugLevel {
		t.Error("GetLevel must be Debug so GoBGP reports connect failures")
	}
}

func TestConnectHint(t *testing.T) {
	if h := connectHint(timeoutErr{}, false); !strings.Contains(h, "unreachable") {
		t.Error(h)
	}
	if h := connectHint(&os.SyscallError{Syscall: "connect", Err: errors.New("connection refused")}, false); !strings.Contains(h, "nothing listens") {
		t.Error(h)
	}
	if h := connectHint("weird", true); !strings.Contains(h, "weird") {
		t.Error(h)
	}
}
