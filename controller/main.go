// Command controller is barelb's controller: it assigns LoadBalancer
// Service addresses from IPAddressPools and reports why when it cannot.
// See README.md.
package main

import (
	"context"

	"k8s.io/client-go/rest"

	"github.com/barelb/barelb/controller/app"
	"github.com/barelb/barelb/internal/kube/crkube"
)

func main() {
	var opts app.Options
	crkube.Main("controller", opts.BindFlags, func(ctx context.Context, cfg *rest.Config) error { return app.Run(ctx, cfg, opts) })
}
