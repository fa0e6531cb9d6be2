package bgptest

import (
	"fmt"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/barelb/barelb/internal/bgp"
	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/internal/bgpproc"
	"github.com/barelb/barelb/speaker/app"
	"github.com/barelb/barelb/testsupport/netlab"
	"github.com/barelb/barelb/testsupport/reexec"
)

// The speaker component runs in the test process (it talks to envtest on
// the host's loopback) while its GoBGP server runs in a helper process
// inside the node namespace, as the speaker runs it in cmd/speaker-bgp:
// the helper is this test binary re-executed with helperSocketEnv set,
// serving bgpproc's Speaker on a unix socket (reachable across network
// namespaces), and the component talks to it through a bgpproc.Client.

const helperSocketEnv = "BARELB_BGPTEST_SOCKET"

func TestMain(m *testing.M) {
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: 1})
	reexec.ServeIfChild(helperSocketEnv, bgpproc.NewSpeaker(func(opts bgpmodel.Options, reg prometheus.Registerer) (bgpproc.Server, error) {
		return bgp.New(log, reg, opts)
	}))
	os.Exit(m.Run())
}

// startHelper runs a helper in ns and returns a factory for the
// component that initialises the helper's server with the router ID the
// component derives from the Node.
func startHelper(t *testing.T, ns *netlab.Namespace) app.NewBGPServerFunc {
	t.Helper()
	cl := bgpproc.Dial(reexec.Start(t, ns, helperSocketEnv).Client, testr.New(t))
	return func(routerID netip.Addr) (app.BGPServer, error) {
		if err := cl.Start(bgpmodel.Options{RouterID: routerID}); err != nil {
			return nil, err
		}
		return cl, nil
	}
}
