// Command backend is the lab's stand-in for the seed walkthrough's httpd Pod:
// the lab's mini kubelet runs one per Pod inside the Pod's network namespace,
// and it answers every request with the node IP, Pod IP, node name and Pod
// name, as the seed's index.html does.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/barelb/barelb/e2e/backend"
)

func main() {
	var s backend.Server
	ports := flag.String("ports", "80", "comma-separated TCP ports to serve on")
	flag.StringVar(&s.Self.NodeIP, "node-ip", "", "IP of the node the Pod runs on (status.hostIP)")
	flag.StringVar(&s.Self.PodIP, "pod-ip", "", "the Pod's IP (status.podIP)")
	flag.StringVar(&s.Self.NodeName, "node-name", "", "name of the node (spec.nodeName)")
	flag.StringVar(&s.Self.PodName, "pod-name", "", "the Pod's name (metadata.name)")
	flag.Parse()
	for _, f := range strings.Split(*ports, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p <= 0 || p > 65535 {
			fmt.Fprintf(os.Stderr, "backend: bad port %q\n", f)
			os.Exit(2)
		}
		s.Ports = append(s.Ports, p)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "backend:", err)
		os.Exit(1)
	}
}
