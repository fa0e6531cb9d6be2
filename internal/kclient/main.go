package kclient

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// Main is a binary's entry point without controller-runtime: it binds
// the binary's flags and the logging flags controller-runtime binaries
// take (--zap-log-level, --zap-devel, --zap-encoder, --zap-time-encoding,
// --zap-stacktrace-level, so the chart's arguments are the same for both
// binaries) and --kubeconfig, finds the configuration as
// controller-runtime does (--kubeconfig, $KUBECONFIG, in-cluster,
// ~/.kube/config; client-side rate limiting off, the API server's
// priority and fairness rules instead), and runs run until the first
// SIGTERM or SIGINT; a second exits at once.
func Main(name string, bind func(*flag.FlagSet), run func(context.Context, *rest.Config, logr.Logger) error) {
	fs := flag.CommandLine
	bind(fs)
	var lf logFlags
	lf.bind(fs)
	kubeconfig := fs.String("kubeconfig", "", "path to a kubeconfig; only required if out-of-cluster")
	flag.Parse()
	log, err := lf.logger()
	if err != nil {
		fmt.Fprintf(os.Stderr, "barelb %s: %v\n", name, err)
		os.Exit(2)
	}
	klog.SetLogger(log) // client-go's own messages, in the same format
	cfg, err := loadConfig(*kubeconfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "barelb %s: no Kubernetes configuration: %v\n", name, err)
		os.Exit(1)
	}
	if err := run(signalContext(), cfg, log); err != nil {
		fmt.Fprintf(os.Stderr, "barelb %s: %v\n", name, err)
		os.Exit(1)
	}
}

func loadConfig(path string) (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case path != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
	case os.Getenv(clientcmd.RecommendedConfigPathEnvVar) != "":
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	default:
		if cfg, err = rest.InClusterConfig(); err != nil {
			home, herr := os.UserHomeDir()
			if herr != nil {
				return nil, err
			}
			if _, serr := os.Stat(filepath.Join(home, ".kube", "config")); serr != nil {
				return nil, err
			}
			cfg, err = clientcmd.BuildConfigFromFlags("", filepath.Join(home, ".kube", "config"))
		}
	}
	if err != nil {
		return nil, err
	}
	if cfg.QPS == 0 {
		cfg.QPS, cfg.Burst = -1, -1
	}
	return cfg, nil
}

// signalContext ends at the first SIGTERM or SIGINT; the second exits.
func signalContext() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	c := make(chan os.Signal, 2)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-c
		cancel()
		<-c
		os.Exit(1)
	}()
	return ctx
}

// logFlags are controller-runtime's zap flags, with its defaults (RFC 3339
// times, JSON at info, stack traces from errors, sampling), so the
// speaker logs as it did on controller-runtime.
type logFlags struct {
	devel                   bool
	encoder, level, timeEnc string
	stacktrace              string
}

func (l *logFlags) bind(fs *flag.FlagSet) {
	fs.BoolVar(&l.devel, "zap-devel", false, "development logging: console encoder, debug level, stack traces from warnings")
	fs.StringVar(&l.encoder, "zap-encoder", "", "log encoding: json or console (default json, console with --zap-devel)")
	fs.StringVar(&l.level, "zap-log-level", "", "log level: debug, info, error, panic, or an integer > 0 for more verbose logs (default info, debug with --zap-devel)")
	fs.StringVar(&l.timeEnc, "zap-time-encoding", "rfc3339", "time encoding: epoch, millis, nano, iso8601, rfc3339 or rfc3339nano")
	fs.StringVar(&l.stacktrace, "zap-stacktrace-level", "", "level from which stack traces are logged: info, error or panic (default error, warn with --zap-devel)")
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

func (l *logFlags) logger() (logr.Logger, error) {
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
	return zapr.NewLogger(zap.New(core, zap.AddStacktrace(stack), zap.ErrorOutput(zapcore.Lock(os.Stderr)))), nil
}
