// Package app is barelb's speaker: on every node it learns which speakers
// are alive, computes (identically on every node) which node announces each
// LoadBalancer IP, and answers ARP/NDP for the IPs this node won.
package app

import (
	"flag"
	"os"
	"time"
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

	MetricsAddr string
	HealthAddr  string
}

// BindFlags registers the speaker's flags.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.NodeName, "node-name", os.Getenv("NODE_NAME"), "name of the Node this speaker runs on (required)")
	fs.StringVar(&o.Namespace, "namespace", defaultNamespace(), "namespace of the barelb configuration objects")
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
	fs.StringVar(&o.MetricsAddr, "metrics-addr", ":7474", "Prometheus metrics listen address (0 disables)")
	fs.StringVar(&o.HealthAddr, "health-addr", ":7475", "/healthz and /readyz listen address (0 disables)")
}

func defaultNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "metallb-system"
}
