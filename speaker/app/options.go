package app

import (
	"flag"
	"fmt"
	"os"
	"path"
	"strings"
	"time"

	"github.com/barelb/barelb/internal/bgpproc"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/layer2"
)

// Options configure a speaker.
type Options struct {
	NodeName  string
	Namespace string
	LBClass   string

	// Memberlist. Disabled falls back to Node readiness for liveness.
	MemberlistDisabled bool
	MemberlistBindAddr string
	MemberlistPort     int
	// MemberlistJoin are extra host:port addresses to join while some
	// Node is not a member: needed when gossip runs on a network that is
	// not the Nodes' InternalIPs (a management NIC), which the speaker
	// otherwise joins.
	MemberlistJoin       string
	MemberlistSecretName string // Secret in Namespace holding the gossip key
	MemberlistSecretKey  string // key in that Secret
	ProbeInterval        time.Duration
	ProbeTimeout         time.Duration
	SuspicionMult        int

	// Handover is how long a terminating speaker keeps answering after it
	// has left memberlist, so the new owner's gratuitous burst lands first.
	Handover time.Duration
	// RestartHold, DaemonSet and StateDir make a speaker replaced by a
	// rolling update of its DaemonSet keep its node's addresses through
	// the restart (see restart.go); any of them empty turns that off.
	RestartHold time.Duration
	DaemonSet   string
	StateDir    string

	// IgnoreInterfaces lists interface names or globs (mgmt*) that
	// announcements without an interfaces list skip, on top of the
	// container and CNI interfaces layer2.DefaultIgnore skips: a
	// management NIC that is not the Services' LAN, for instance.
	IgnoreInterfaces string

	// ConflictDetection probes (RFC 5227 ARP, RFC 4862 NDP) before
	// announcing an IP and every ConflictProbeInterval while announcing
	// it, and stays silent where a host that is no speaker uses it. It
	// needs memberlist (the other speakers' MACs) and is off without it.
	ConflictDetection bool
	// LinkAware makes a node whose interfaces for an IP are all down
	// ineligible for it, from the link states the speakers gossip.
	LinkAware bool
	// FailbackDelay is how long a node that came back (speaker start,
	// link change, cut off from every other speaker) waits before it
	// takes layer 2 addresses back; 0 turns damping off.
	FailbackDelay         time.Duration
	ConflictProbeInterval time.Duration
	// ConflictProbeWait is how long a newly carried IP is probed before
	// it is answered: it is added to every takeover.
	ConflictProbeWait time.Duration

	// BGPBinary is the BGP process (cmd/speaker-bgp); empty: beside the
	// speaker's own binary.
	BGPBinary string

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
	fs.StringVar(&o.MemberlistJoin, "ml-join", "", "comma-separated host:port of other speakers' memberlist, joined as well as the Nodes' InternalIPs (for gossip on a management network)")
	fs.StringVar(&o.MemberlistSecretName, "ml-secret-name", "memberlist", "Secret (in --namespace) whose key encrypts gossip; absent means unencrypted, with a warning")
	fs.StringVar(&o.MemberlistSecretKey, "ml-secret-key", "secretkey", "key of the gossip secret in that Secret")
	fs.DurationVar(&o.ProbeInterval, "ml-probe-interval", 200*time.Millisecond, "memberlist probe interval (failure detection speed)")
	fs.DurationVar(&o.ProbeTimeout, "ml-probe-timeout", 100*time.Millisecond, "memberlist probe timeout")
	fs.IntVar(&o.SuspicionMult, "ml-suspicion-mult", 2, "memberlist suspicion multiplier")
	fs.DurationVar(&o.Handover, "handover", 1500*time.Millisecond, "on SIGTERM, how long to keep answering after leaving memberlist")
	fs.DurationVar(&o.RestartHold, "restart-hold", 30*time.Second, "when the speaker DaemonSet is rolled (helm upgrade, kubectl rollout restart), how long the other speakers keep a replaced speaker's addresses on its node waiting for its successor, instead of moving them away and back (0: move them)")
	fs.StringVar(&o.DaemonSet, "daemonset", "", "this speaker's DaemonSet (in --namespace): a change of its template while the speaker runs makes its exit a planned restart (see --restart-hold; empty: never)")
	fs.StringVar(&o.StateDir, "state-dir", "", "a directory on the node kept across speaker restarts but not reboots (a hostPath under /run) where a replaced speaker leaves word for its successor (empty: no planned restarts)")
	fs.StringVar(&o.IgnoreInterfaces, "ignore-interfaces", "", "comma-separated interface names or globs (mgmt*) never used by L2Advertisements that list no interfaces")
	fs.BoolVar(&o.LinkAware, "link-aware-election", true, "elect only nodes with an interface up that may carry the IP, from the link states the speakers gossip (a node alive on its management network but cut from the LAN loses its IPs within a gossip round)")
	fs.DurationVar(&o.FailbackDelay, "failback-delay", 5*time.Second, "how long a node that came back (speaker restart, a LAN link up again, rejoined after being cut off) must be stable before it takes layer 2 addresses back; a flapping node then moves each address once per flap instead of twice (0: take back at once)")
	fs.BoolVar(&o.ConflictDetection, "conflict-detection", true, "probe for hosts that already use an IP before announcing it and do not announce it while one does (needs memberlist; adds --conflict-probe-wait to every takeover)")
	fs.DurationVar(&o.ConflictProbeWait, "conflict-probe-wait", 200*time.Millisecond, "how long an IP is probed before this node first answers for it; added to every takeover (a host on the LAN answers within milliseconds)")
	fs.DurationVar(&o.ConflictProbeInterval, "conflict-probe-interval", 10*time.Second, "how often announced and conflicting IPs are probed again; a host that went away is noticed within 3 intervals")
	fs.StringVar(&o.BGPBinary, "bgp-binary", "", "the BGP process the speaker starts when a BGPPeer selects its node (empty: "+bgpproc.Binary+" beside the speaker binary)")
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
