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

	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/speaker/app"
)

func main() {
	var opts app.Options
	var pprofAddr string
	bind := func(fs *flag.FlagSet) {
		opts.BindFlags(fs)
		fs.StringVar(&pprofAddr, "pprof-addr", "", "serve net/http/pprof on this address, e.g. 127.0.0.1:6060 (empty: off)")
	}
	kube.Main("speaker", bind, func(ctx context.Context, cfg *rest.Config) error {
		if pprofAddr != "" {
			go func() {
				// Profiling is a debugging aid: if it cannot listen, say
				// so and keep announcing.
				err := http.ListenAndServe(pprofAddr, nil)
				fmt.Fprintln(os.Stderr, "barelb speaker: --pprof-addr:", err)
			}()
		}
		return app.Run(ctx, cfg, opts)
	})
}
