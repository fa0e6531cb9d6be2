package bgp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/go-logr/logr"
	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
	"github.com/osrg/gobgp/v3/pkg/packet/bgp"
)

// gobgpLogger adapts GoBGP's logger interface to logr and doubles as the
// session's only window into why a connection fails: GoBGP reports connect
// errors, NOTIFICATIONs and hold timer expiry only through its log, not
// through its API, so the messages that explain a down session are turned
// into PeerState.LastError here.
//
// GoBGP's Info is mapped to V(1) and Debug to V(4); Warn and Error are
// logged at V(0), errors as errors. Every value is formatted and scrubbed
// of the peer's password before it reaches the sink.
type gobgpLogger struct {
	log      logr.Logger
	password string
	hasPass  bool

	mu        sync.Mutex
	lastError string
	// sticky marks a lastError set by barelb itself (setError); GoBGP's
	// own messages about the consequences (the NOTIFICATION we then send)
	// must not replace the cause. The next "Peer Up" clears it.
	sticky bool
}

var _ gobgplog.Logger = (*gobgpLogger)(nil)

func newGobgpLogger(log logr.Logger, password string) *gobgpLogger {
	return &gobgpLogger{log: log, password: password, hasPass: password != ""}
}

func (l *gobgpLogger) Panic(msg string, f gobgplog.Fields) {
	l.emit(-1, msg, f)
	panic(l.redact(msg))
}

func (l *gobgpLogger) Fatal(msg string, f gobgplog.Fields) {
	l.emit(-1, msg, f)
	os.Exit(1)
}

func (l *gobgpLogger) Error(msg string, f gobgplog.Fields) { l.emit(-1, msg, f) }
func (l *gobgpLogger) Warn(msg string, f gobgplog.Fields)  { l.observe(msg, f); l.emit(0, msg, f) }
func (l *gobgpLogger) Info(msg string, f gobgplog.Fields)  { l.observe(msg, f); l.emit(1, msg, f) }
func (l *gobgpLogger) Debug(msg string, f gobgplog.Fields) { l.observe(msg, f); l.emit(4, msg, f) }

// SetLevel is ignored: verbosity is the logr sink's business.
func (l *gobgpLogger) SetLevel(gobgplog.LogLevel) {}

// GetLevel reports Debug because GoBGP only logs connect failures at that
// level; emit discards what the sink does not want.
func (l *gobgpLogger) GetLevel() gobgplog.LogLevel { return gobgplog.DebugLevel }

func (l *gobgpLogger) emit(v int, msg string, f gobgplog.Fields) {
	if v >= 0 && !l.log.V(v).Enabled() {
		return
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		if k == "Topic" || k == "Key" || k == gobgplog.FieldFacility {
			continue // the logger is already named for the session's peer
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	kv := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		kv = append(kv, k, l.redact(fmt.Sprint(f[k])))
	}
	if v < 0 {
		l.log.Error(errors.New(l.redact(msg)), "gobgp error", kv...)
		return
	}
	l.log.V(v).Info(l.redact(msg), kv...)
}

func (l *gobgpLogger) redact(s string) string {
	if !l.hasPass {
		return s
	}
	return strings.ReplaceAll(s, l.password, "<redacted>")
}

// observe turns the log messages that explain a session's trouble into
// a LastError. The FSM holds its own lock while logging, so this must not
// call back into GoBGP.
func (l *gobgpLogger) observe(msg string, f gobgplog.Fields) {
	var e string
	clear := false
	switch msg {
	case "Peer Up":
		clear = true
	case "failed to connect":
		e = connectHint(f["Error"], l.hasPass)
	case "received notification":
		e = "peer sent NOTIFICATION: " + notificationText(f)
	case "sent notification":
		if _, ok := f["Code"]; ok {
			e = "sent NOTIFICATION to peer: " + notificationText(f)
		} else {
			e = "sent NOTIFICATION to peer: " + fmt.Sprint(f["Data"])
		}
	case "hold timer expired":
		e = "hold timer expired: no KEEPALIVE or UPDATE from the peer within the hold time"
	case "Peer Down":
		if r := fmt.Sprint(f["Reason"]); r != "dying" {
			e = "session went down: " + r
		}
	case "failed to resolve local address":
		e = "sourceAddress cannot be used: failed to resolve local address"
	default:
		return
	}
	if e == "" && !clear {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case clear:
		l.lastError, l.sticky = "", false
	case l.sticky:
	case !strings.HasPrefix(e, "session went down") || l.lastError == "":
		// "Peer Down" is less specific than the NOTIFICATION or hold
		// timer message logged just before it; keep the specific one.
		l.lastError = l.redact(e)
	}
}

// setError records an error found outside GoBGP's log (a dynamic ASN
// mismatch, a failed configuration call).
func (l *gobgpLogger) setError(e string) {
	l.mu.Lock()
	l.lastError, l.sticky = l.redact(e), true
	l.mu.Unlock()
}

func (l *gobgpLogger) lastErr() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastError
}

func notificationText(f gobgplog.Fields) string {
	code, _ := f["Code"].(uint8)
	sub, _ := f["Subcode"].(uint8)
	s := bgp.NewNotificationErrorCode(code, sub).String()
	if c, ok := f["Communicated-Reason"].(string); ok && c != "" {
		s += fmt.Sprintf(" (%q)", c)
	}
	return s
}

// connectHint explains a failed TCP connect. A TCP MD5 mismatch is silent
// on the wire: the peer's kernel drops segments whose signature does not
// verify, so the only symptom is connect attempts timing out.
func connectHint(v any, hasPassword bool) string {
	err, _ := v.(error)
	if err == nil {
		return fmt.Sprintf("connect failed: %v", v)
	}
	var ne net.Error
	timeout := errors.As(err, &ne) && ne.Timeout()
	switch {
	case timeout && hasPassword:
		return fmt.Sprintf("connect timed out (%v); with a TCP MD5 password set this usually means the peer has a different password, or none, and drops our signed segments", err)
	case timeout:
		return fmt.Sprintf("connect timed out (%v); the peer is unreachable, filtered, or expects a TCP MD5 password", err)
	case strings.Contains(err.Error(), "connection refused"):
		return fmt.Sprintf("connect refused (%v): nothing listens on the peer's BGP port", err)
	}
	return fmt.Sprintf("connect failed: %v", err)
}
