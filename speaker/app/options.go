// Package app is barelb's speaker: on every node it learns which speakers
// are alive, computes (identically on every node) which node announces each
// LoadBalancer IP, and answers ARP/NDP for the IPs this node won.
//
// What each speaker decided, and why, persists in one ConfigurationState
// per speaker (speaker_state.go): per IP announced or not and the reason,
// and the memberlist view. One object per speaker, rewritten only when its
// content changes and off the reconcile path, keeps that cheap: at 1,000
// IPs the object is about 74 KB (74 bytes an IP), a steady cluster costs no
// write, and a change costs one write per speaker however many IPs it
// moves (a failover of 500 IPs: one write, not 500). One object per IP
// and node would cost nodes × IPs objects and as many writes.
package app

import (
	"flag"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/layer2"
)

// Options configure a speaker.
type Options struct {
	NodeName  string
	Namespace string
	LBClass   string

	// Memberlist. Disabled falls back to Node readiness for liveness.
	MemberlistDisabled   bool
	MemberlistBindAddr   string
	MemberlistPort       int
	MemberlistSecretName string // Secret in Namespace holding the gossip key
	MemberlistSecretKey  string // key in that Secret
	ProbeInterval        time.Duration
	ProbeTimeout         time.Duration
	SuspicionMult        int

	// Handover is how long a terminating speaker keeps answering after it
	// has left memberlist, so the new owner's gratuitous burst lands first.
	Handover time.Duration

	// IgnoreInterfaces lists interface names or globs (mgmt*) that
	// announcements without an interfaces list skip, on top of the
	// container and CNI interfaces layer2.DefaultIgnore skips: a
	// management NIC that is not the Services' LAN, for instance.
	IgnoreInterfaces string

	MetricsAddr string
	HealthAddr  string
}

// BindFlags registers the speaker's flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "name of the Node this speaker runs on (required)")
	fs.StringVar(&o.Namespace, "namespace", kube.DefaultNamespace(), "namespace of the barelb configuration objects")
	fs.StringVar(&o.LBClass, "lb-class", "", "announce only Services with this spec.loadBalancerClass (empty: Services without one)")
	fs.BoolVar(&o.MemberlistDisabled, "disable-memberlist", false, "use Node readiness instead of memberlist to know which speakers are alive")
	fs.StringVar(&o.MemberlistBindAddr, "ml-bind-addr", os.Getenv("SPEAKER_IP"), "address memberlist listens on and advertises (the node's LAN IP)")
	fs.IntVar(&o.MemberlistPort, "ml-bind-port", 7946, "memberlist port, the same on every node")
	fs.StringVar(&o.MemberlistSecretName, "ml-secret-name", "memberlist", "Secret (in --namespace) whose key encrypts gossip; absent means unencrypted, with a warning")
	fs.StringVar(&o.MemberlistSecretKey, "ml-secret-key", "secretkey", "key of the gossip secret in that Secret")
	fs.DurationVar(&o.ProbeInterval, "ml-probe-interval", 200*time.Millisecond, "memberlist probe interval (failure detection speed)")
	fs.DurationVar(&o.ProbeTimeout, "ml-probe-timeout", 100*time.Millisecond, "memberlist probe timeout")
	fs.IntVar(&o.SuspicionMult, "ml-suspicion-mult", 2, "memberlist suspicion multiplier")
	fs.DurationVar(&o.Handover, "handover", 1500*time.Millisecond, "on SIGTERM, how long to keep answering after leaving memberlist")
	fs.StringVar(&o.IgnoreInterfaces, "ignore-interfaces", "", "comma-separated interface names or globs (mgmt*) never used by L2Advertisements that list no interfaces")
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":7474", "Prometheus metrics listen address (0 disables)")
	fs.StringVar(&o.HealthAddr, "health-addr", ":7475", "/healthz and /readyz listen address (0 disables)")
}

// ignoreFunc is layer2.DefaultIgnore extended by --ignore-interfaces. A
// malformed glob is an error at start-up, not a pattern that silently
// matches nothing.
func ignoreFunc(spec string) (func(string) bool, error) {
	var globs []string
	for _, g := range strings.Split(spec, ",") {
		if g = strings.TrimSpace(g); g == "" {
			continue
		}
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("--ignore-interfaces: bad pattern %q: %w", g, err)
		}
		globs = append(globs, g)
	}
	return func(name string) bool {
		for _, g := range globs {
			if ok, _ := path.Match(g, name); ok {
				return true
			}
		}
		return layer2.DefaultIgnore(name)
	}, nil
}
