// Command speaker-bgp is the speaker's BGP process: internal/bgp (GoBGP
// and BFD) serving the speaker over the socket it inherits as file
// descriptor 3 (internal/bgpproc). The speaker starts it when the first
// BGPPeer selects its node, from the same directory as itself; it is not
// meant to be run by hand. It exits when the speaker closes the socket,
// and ignores SIGINT and SIGTERM, which are the speaker's to handle.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/bgpproc"
	"github.com/barelb/barelb/internal/logsetup"
)

func main() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(50) // as the speaker (speaker/main.go)
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM)
	var lf logsetup.Flags
	lf.Bind(flag.CommandLine)
	node := flag.String("node", "", "the node's name, for the log")
	flag.Parse()
	log, err := lf.Logger()
	if err != nil {
		fmt.Fprintln(os.Stderr, "barelb speaker-bgp:", err)
		os.Exit(2)
	}
	log = log.WithName("speaker").WithName("bgp").WithValues("node", *node)
	f := os.NewFile(3, "speaker")
	conn, err := net.FileConn(f)
	if err != nil {
		fmt.Fprintln(os.Stderr, "barelb speaker-bgp: file descriptor 3 is not the speaker's socket (this binary is started by the speaker):", err)
		os.Exit(2)
	}
	f.Close()
	err = bgpproc.Serve(conn, bgpproc.NewSpeaker(func(opts bgpmodel.Options, reg prometheus.Registerer) (bgpproc.Server, error) {
		return bgp.New(log, reg, opts)
	}))
	if err != nil {
		fmt.Fprintln(os.Stderr, "barelb speaker-bgp:", err)
		os.Exit(1)
	}
}
