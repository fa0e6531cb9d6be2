package app

import (
	"context"
	"fmt"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/eligibility"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/lbspec"
)

// snapshot is one read of everything the speaker plans from, taken from
// the caches. Both reconcilers (layer 2 and BGP) build the configuration
// the same way from it, with the same pools in use as the controller, so
// all of them keep the same pool when two overlap.
type snapshot struct {
	cfg      *config.Config
	problems config.Problems
	nodes    []eligibility.Node
	// self is this speaker's Node; nil when the API server does not have it.
	self *corev1.Node
	svcs []eligibility.Service
	// byKey maps a Service key to the object, for Events and statuses.
	byKey   map[string]*corev1.Service
	peers   []v1beta2.BGPPeer
	bgpAdvs []v1beta1.BGPAdvertisement
}

// readSnapshot lists the inputs. alive is memberlist's view; nil (memberlist
// disabled, or BGP mode, which does not use liveness) means Node readiness.
func readSnapshot(ctx context.Context, c client.Reader, opts Options, alive map[string]bool) (*snapshot, error) {
	in, err := kube.ListConfig(ctx, c, opts.Namespace)
	if err != nil {
		return nil, err
	}
	var (
		nodes  corev1.NodeList
		svcs   corev1.ServiceList
		slices discoveryv1.EndpointSliceList
	)
	for _, l := range []struct {
		list client.ObjectList
		what string
	}{{&nodes, "Nodes"}, {&svcs, "Services"}, {&slices, "EndpointSlices"}} {
		// Read-only: the cache's objects themselves, not a copy of every
		// Node, Service and EndpointSlice per pass (which doubled the
		// live heap during a pass and set the speaker's peak RSS).
		if err := c.List(ctx, l.list, client.UnsafeDisableDeepCopy); err != nil {
			return nil, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	s := &snapshot{byKey: map[string]*corev1.Service{}, peers: in.Peers, bgpAdvs: in.BGPAdvertisements}
	in.InUse = lbspec.PoolsInUse(svcs.Items, opts.LBClass)
	s.cfg, s.problems = config.Build(in)
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if n.Name == opts.NodeName {
			s.self = n
		}
		s.nodes = append(s.nodes, planNode(n, alive))
	}
	// Name order, not the cache's (map order, different every pass): the
	// plan is then the same for the same cluster (an IP no node may
	// announce quotes the first node's refusal) and the planFeed finds
	// the nodes in the order it holds them.
	sort.Slice(s.nodes, func(i, j int) bool { return s.nodes[i].Name < s.nodes[j].Name })
	ready := readyNodes(slices.Items)
	for i := range svcs.Items {
		svc := &svcs.Items[i]
		if !lbspec.Handles(svc, opts.LBClass) {
			continue
		}
		ips := lbspec.IngressIPs(svc)
		if len(ips) == 0 {
			continue
		}
		key := lbspec.Key(svc)
		s.byKey[key] = svc
		s.svcs = append(s.svcs, eligibility.Service{
			Key: key, IPs: ips, Labels: svc.Labels,
			Local:      svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
			ReadyNodes: ready[key],
		})
	}
	return s, nil
}

func planNode(n *corev1.Node, alive map[string]bool) eligibility.Node {
	out := eligibility.Node{Name: n.Name, Labels: n.Labels}
	for _, cond := range n.Status.Conditions {
		switch cond.Type {
		case corev1.NodeNetworkUnavailable:
			out.NetworkUnavailable = cond.Status == corev1.ConditionTrue
		case corev1.NodeReady:
			if alive == nil {
				out.Alive = cond.Status == corev1.ConditionTrue
			}
		}
	}
	if alive != nil {
		out.Alive = alive[n.Name]
	}
	return out
}

// readyNodes maps each Service key to the nodes holding a ready endpoint.
func readyNodes(slices []discoveryv1.EndpointSlice) map[string]map[string]bool {
	ready := map[string]map[string]bool{}
	for _, s := range slices {
		name := s.Labels[discoveryv1.LabelServiceName]
		if name == "" {
			continue
		}
		key := s.Namespace + "/" + name
		for _, ep := range s.Endpoints {
			// A nil Ready means ready, per the EndpointSlice API.
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if ready[key] == nil {
				ready[key] = map[string]bool{}
			}
			node := ""
			if ep.NodeName != nil {
				node = *ep.NodeName
			}
			ready[key][node] = true
		}
	}
	return ready
}
