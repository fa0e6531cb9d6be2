// Package logsetup is how barelb's binaries without controller-runtime
// log: controller-runtime's zap flags (--zap-log-level, --zap-devel,
// --zap-encoder, --zap-time-encoding, --zap-stacktrace-level) with its
// defaults (RFC 3339 times, JSON at info, stack traces from errors,
// sampling), so the chart passes the same arguments to every binary and
// the logs read the same. A process started by one of them (the speaker's
// BGP process) logs as its parent with InUse's arguments.
package logsetup

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Flags are the logging flags; Bind them, parse, then call Logger.
type Flags struct {
	devel                   bool
	encoder, level, timeEnc string
	stacktrace              string
	set                     []string // the flags given, as arguments
}

// Bind adds the flags to fs.
func (l *Flags) Bind(fs *flag.FlagSet) {
	fs.BoolFunc("zap-devel", "development logging: console encoder, debug level, stack traces from warnings", func(v string) error {
		b, err := strconv.ParseBool(v)
		l.devel = b
		return l.note("zap-devel", v, err)
	})
	bindString := func(name, def, usage string, dst *string) {
		*dst = def
		fs.Func(name, usage, func(v string) error { *dst = v; return l.note(name, v, nil) })
	}
	bindString("zap-encoder", "", "log encoding: json or console (default json, console with --zap-devel)", &l.encoder)
	bindString("zap-log-level", "", "log level: debug, info, error, panic, or an integer > 0 for more verbose logs (default info, debug with --zap-devel)", &l.level)
	bindString("zap-time-encoding", "rfc3339", "time encoding: epoch, millis, nano, iso8601, rfc3339 or rfc3339nano (default rfc3339)", &l.timeEnc)
	bindString("zap-stacktrace-level", "", "level from which stack traces are logged: info, error or panic (default error, warn with --zap-devel)", &l.stacktrace)
}

func (l *Flags) note(name, v string, err error) error {
	if err == nil {
		l.set = append(l.set, "--"+name+"="+v)
	}
	return err
}

var (
	inUseMu sync.Mutex
	inUse   []string
)

// InUse returns the arguments of the Flags whose Logger was made last, for
// a child process that should log as this one.
func InUse() []string {
	inUseMu.Lock()
	defer inUseMu.Unlock()
	return append([]string(nil), inUse...)
}

func parseLevel(s string) (zapcore.Level, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("log level %q: an integer level must be above 0", s)
		}
		return zapcore.Level(-n), nil
	}
	var lv zapcore.Level
	if err := lv.UnmarshalText([]byte(strings.ToLower(s))); err != nil {
		return 0, fmt.Errorf("log level %q: %w", s, err)
	}
	return lv, nil
}

// Logger returns the logger the flags describe, writing to standard error.
func (l *Flags) Logger() (logr.Logger, error) {
	ec := zap.NewProductionEncoderConfig()
	level, stack, enc := zapcore.InfoLevel, zapcore.ErrorLevel, "json"
	if l.devel {
		ec = zap.NewDevelopmentEncoderConfig()
		level, stack, enc = zapcore.DebugLevel, zapcore.WarnLevel, "console"
	}
	if err := ec.EncodeTime.UnmarshalText([]byte(l.timeEnc)); err != nil {
		return logr.Logger{}, fmt.Errorf("--zap-time-encoding %q: %w", l.timeEnc, err)
	}
	var err error
	if l.level != "" {
		if level, err = parseLevel(l.level); err != nil {
			return logr.Logger{}, err
		}
	}
	if l.stacktrace != "" {
		if stack, err = parseLevel(l.stacktrace); err != nil {
			return logr.Logger{}, err
		}
	}
	if l.encoder != "" {
		enc = l.encoder
	}
	var encoder zapcore.Encoder
	switch enc {
	case "json":
		encoder = zapcore.NewJSONEncoder(ec)
	case "console":
		encoder = zapcore.NewConsoleEncoder(ec)
	default:
		return logr.Logger{}, fmt.Errorf("--zap-encoder %q: json or console", enc)
	}
	core := zapcore.NewCore(encoder, zapcore.Lock(os.Stderr), zap.NewAtomicLevelAt(level))
	if !l.devel && level > zapcore.Level(-2) {
		// As controller-runtime's production logger: a message repeated
		// within a second is logged 100 times, then every 100th.
		core = zapcore.NewSamplerWithOptions(core, time.Second, 100, 100)
	}
	inUseMu.Lock()
	inUse = append([]string(nil), l.set...)
	inUseMu.Unlock()
	return zapr.NewLogger(zap.New(core, zap.AddStacktrace(stack), zap.ErrorOutput(zapcore.Lock(os.Stderr)))), nil
}
