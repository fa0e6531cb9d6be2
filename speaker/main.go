// Command speaker is barelb's per-node speaker: it answers ARP and NDP for
// the LoadBalancer addresses this node was elected to announce.
package main

import (
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only with --pprof-addr
	"os"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/barelb/barelb/speaker/app"
)

func main() {
	var opts app.Options
	opts.BindFlags(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	pprofAddr := flag.String("pprof-addr", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (empty: off)")
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	if *pprofAddr != "" {
		go func() {
			// Profiling is a debugging aid: if it cannot listen, say so and
			// keep announcing.
			err := http.ListenAndServe(*pprofAddr, nil)
			fmt.Fprintln(os.Stderr, "barelb speaker: --pprof-addr:", err)
		}()
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		fmt.Fprintln(os.Stderr, "barelb speaker: no Kubernetes configuration:", err)
		os.Exit(1)
	}
	if err := app.Run(ctrl.SetupSignalHandler(), cfg, opts); err != nil {
		fmt.Fprintln(os.Stderr, "barelb speaker:", err)
		os.Exit(1)
	}
}
