package explain

import (
	"net/netip"
	"slices"
	"sort"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/lbspec"
)

// Cluster is everything the reports read, as listed by the command.
// Fields a report does not need may be left empty.
type Cluster struct {
	// Namespace is barelb's configuration namespace; LBClass its
	// loadBalancerClass ("" for the default).
	Namespace string
	LBClass   string
	Now       time.Time

	Pools       []v1beta1.IPAddressPool
	L2Advs      []v1beta1.L2Advertisement
	BGPAdvs     []v1beta1.BGPAdvertisement
	Peers       []v1beta2.BGPPeer
	Communities []v1beta1.Community
	BFDProfiles []v1beta1.BFDProfile
	States      []v1beta1.ConfigurationState
	L2Statuses  []v1beta1.ServiceL2Status
	BGPStatuses []v1beta1.ServiceBGPStatus

	Services   []corev1.Service
	Namespaces []corev1.Namespace
	Nodes      []corev1.Node
	Events     []eventsv1.Event
	// AssignEvents are the speakers' nodeAssigned Events in every
	// namespace, for `status`'s moved IPs (see moves.go).
	AssignEvents []eventsv1.Event

	// For doctor.
	DaemonSets  []appsv1.DaemonSet
	Deployments []appsv1.Deployment
	Pods        []corev1.Pod
	CRDs        []apiextensionsv1.CustomResourceDefinition
	// KubeProxy is kube-system/kube-proxy; nil when absent.
	KubeProxy *corev1.ConfigMap
	// Secrets are the names of the Secrets in Namespace.
	Secrets []string
	Leases  []coordinationv1.Lease
	// MemberlistSecret is the Secret's name the speakers read ("memberlist").
	MemberlistSecret string
}

// model is the configuration and the allocator state rebuilt from c.
type model struct {
	cfg      *config.Config
	problems config.Problems
	alloc    *allocator.Allocator
	nsLabels map[string]map[string]string
}

func (c *Cluster) model() *model {
	cfg, problems := config.Build(config.Input{
		Pools: c.Pools, L2Advertisements: c.L2Advs, BGPAdvertisements: c.BGPAdvs,
		Peers: c.Peers, Communities: c.Communities, BFDProfiles: c.BFDProfiles,
		InUse: lbspec.PoolsInUse(c.Services, c.LBClass),
	})
	m := &model{cfg: cfg, problems: problems, alloc: allocator.New(), nsLabels: map[string]map[string]string{}}
	for _, ns := range c.Namespaces {
		m.nsLabels[ns.Name] = ns.Labels
	}
	var ap []allocator.Pool
	for _, p := range cfg.Pools {
		ap = append(ap, allocator.Pool{Name: p.Name, Ranges: p.Ranges, AutoAssign: p.AutoAssign, AvoidBuggyIPs: p.AvoidBuggyIPs, Priority: p.Priority})
	}
	_ = m.alloc.SetPools(ap) // config.Build already refused what SetPools refuses
	// In the controller's order, so the same Service keeps a contested address.
	svcs := slices.Clone(c.Services)
	lbspec.SortForRestore(svcs)
	for i := range svcs {
		svc := &svcs[i]
		ips := lbspec.IngressIPs(svc)
		if !lbspec.Handles(svc, c.LBClass) || len(ips) == 0 {
			continue
		}
		req, _ := lbspec.Request(svc)
		_ = m.alloc.Restore(lbspec.Key(svc), ips, req.Sharing)
	}
	return m
}

// allowed is the pool filter of svc, as the controller evaluates it.
func (m *model) allowed(svc *corev1.Service) func(string) bool {
	return func(name string) bool {
		p := m.cfg.Pools[name]
		return p != nil && p.AllowsService(svc.Namespace, m.nsLabels[svc.Namespace], svc.Labels)
	}
}

// poolNames are the configured pools' names, sorted.
func (m *model) poolNames() []string {
	out := make([]string, 0, len(m.cfg.Pools))
	for n := range m.cfg.Pools {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// poolOf names the configured pool holding ip, or "".
func (m *model) poolOf(ip netip.Addr) string { return m.cfg.PoolOf(ip) }

func (c *Cluster) service(ns, name string) *corev1.Service {
	for i := range c.Services {
		if c.Services[i].Namespace == ns && c.Services[i].Name == name {
			return &c.Services[i]
		}
	}
	return nil
}

// speakerStates maps node name to its barelb speaker's ConfigurationState.
func (c *Cluster) speakerStates() map[string]*v1beta1.ConfigurationState {
	out := map[string]*v1beta1.ConfigurationState{}
	for i := range c.States {
		s := &c.States[i]
		if node, ok := speakerNode(s); ok && !foreignState(s) {
			out[node] = s
		}
	}
	return out
}

// speakerNode is the node of a speaker's ConfigurationState.
func speakerNode(s *v1beta1.ConfigurationState) (string, bool) {
	if s.Labels[LabelComponentType] != "speaker" {
		return "", false
	}
	if node := s.Labels[LabelNodeName]; node != "" {
		return node, true
	}
	return s.Name, true
}

// foreignState: a speaker ConfigurationState barelb did not write. barelb
// names its speakers' states after the node; MetalLB (v0.15 and later)
// names them "speaker-" + node, with the same labels.
func foreignState(s *v1beta1.ConfigurationState) bool {
	node, ok := speakerNode(s)
	return ok && s.Name != node && s.Name == "speaker-"+node
}

// Labels of speaker ConfigurationStates (as speaker/app writes them).
const (
	LabelComponentType = "metallb.io/component-type"
	LabelNodeName      = "metallb.io/node-name"
)
