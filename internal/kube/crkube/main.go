package crkube

import (
	"context"
	"flag"
	"fmt"
	"os"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Main is the controller's entry point: it registers the component's flags
// and the logging flags (controller-runtime registers --kubeconfig), finds
// the API server, and runs until SIGTERM or SIGINT. It exits non-zero with
// the component's name on any error.
func Main(name string, bind func(*flag.FlagSet), run func(context.Context, *rest.Config) error) {
	bind(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintf(os.Stderr, "barelb %s: no Kubernetes configuration: %v\n", name, err)
		os.Exit(1)
	}
	if err := run(ctrl.SetupSignalHandler(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "barelb %s: %v\n", name, err)
		os.Exit(1)
	}
}
