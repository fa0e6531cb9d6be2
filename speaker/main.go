// Command speaker is barelb's per-node speaker: it announces the
// LoadBalancer addresses this node is elected for, answering ARP and NDP
// in layer 2 mode and advertising routes to its BGP peers in BGP mode.
// See README.md.
package main

import (
	"context"

	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/speaker/app"
)

func main() {
	var opts app.Options
	kube.Main("speaker", opts.BindFlags, func(ctx context.Context, cfg *rest.Config) error { return app.Run(ctx, cfg, opts) })
}
