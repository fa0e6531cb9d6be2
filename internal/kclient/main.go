package kclient

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/barelb/barelb/internal/logsetup"
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
	var lf logsetup.Flags
	lf.Bind(fs)
	kubeconfig := fs.String("kubeconfig", "", "path to a kubeconfig; only required if out-of-cluster")
	flag.Parse()
	log, err := lf.Logger()
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
