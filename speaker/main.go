// Command speaker is barelb's per-node speaker: it announces the
// LoadBalancer addresses this node is elected for, answering ARP and NDP
// in layer 2 mode and advertising routes to its BGP peers in BGP mode.
// See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	_ "net/http/pprof" // served only with --pprof-addr
	"os"
	"runtime/debug"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/internal/kclient"
	"github.com/barelb/barelb/speaker/app"
)

// defaultGCPercent is the speaker's GOGC when the environment sets none.
// A speaker's live heap is small, mostly its caches of Services,
// EndpointSlices and Nodes (11-19 MB with 1,000 Services in the cluster,
// 17-28 MB announcing 1,000 of them), and a DaemonSet pays its peak RSS
// on every node: collecting at 50% heap growth instead of Go's 100% cut
// peak RSS by about 12 MiB at 1,000 announced IPs and 6-8 MiB at one in
// make bench-failover, for about twice as many collections (the speakers'
// CPU over that bench: 10.8 s against 9.9 s at 1,000 IPs, 7.1-7.5 s
// against 6.9-7.1 s at one). 25 saved only 2-4 MiB more, for five times
// the collections. GOGC (and GOMEMLIMIT, which the chart sets from the
// memory limit) still override it.
const defaultGCPercent = 50

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
	var opts app.Options
	var pprofAddr string
	bind := func(fs *flag.FlagSet) {
		opts.BindFlags(fs)
		fs.StringVar(&pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (empty: off)")
	}
	kclient.Main("speaker", bind, func(ctx context.Context, cfg *rest.Config, log logr.Logger) error {
		if pprofAddr != "" {
			go func() {
				// Profiling is a debugging aid: if it cannot listen, say
				// so and keep announcing.
				err := http.ListenAndServe(pprofAddr, nil)
				fmt.Fprintln(os.Stderr, "barelb speaker: --pprof-addr:", err)
			}()
		}
		return app.Run(ctx, cfg, opts, log)
	})
}
