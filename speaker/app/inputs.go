package app

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/l2plan"
	"github.com/barelb/barelb/internal/lbspec"
)

// gather reads the plan's inputs from the caches. alive is nil when
// memberlist is disabled: Node readiness decides instead.
func gather(ctx context.Context, c client.Reader, opts Options, alive map[string]bool) (*config.Config, config.Problems, []l2plan.Node, []l2plan.Service, map[string]*corev1.Service, error) {
	var pools v1beta1.IPAddressPoolList
	var advs v1beta1.L2AdvertisementList
	ns := client.InNamespace(opts.Namespace)
	if err := c.List(ctx, &pools, ns); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	if err := c.List(ctx, &advs, ns); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	cfg, problems := config.Build(config.Input{Pools: pools.Items, L2Advertisements: advs.Items})

	var nodeList corev1.NodeList
	if err := c.List(ctx, &nodeList); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	nodes := make([]l2plan.Node, 0, len(nodeList.Items))
	for _, n := range nodeList.Items {
		an := l2plan.Node{Name: n.Name, Labels: n.Labels}
		for _, cond := range n.Status.Conditions {
			switch cond.Type {
			case corev1.NodeNetworkUnavailable:
				an.NetworkUnavailable = cond.Status == corev1.ConditionTrue
			case corev1.NodeReady:
				if alive == nil {
					an.Alive = cond.Status == corev1.ConditionTrue
				}
			}
		}
		if alive != nil {
			an.Alive = alive[n.Name]
		}
		nodes = append(nodes, an)
	}

	var svcList corev1.ServiceList
	if err := c.List(ctx, &svcList); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	var slices discoveryv1.EndpointSliceList
	if err := c.List(ctx, &slices); err != nil {
		return nil, nil, nil, nil, nil, err
	}
	ready := map[string]map[string]bool{} // service key -> nodes with a ready endpoint
	for _, s := range slices.Items {
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
	var svcs []l2plan.Service
	byKey := map[string]*corev1.Service{}
	for i := range svcList.Items {
		s := &svcList.Items[i]
		if !lbspec.Handles(s, opts.LBClass) {
			continue
		}
		ips := lbspec.IngressIPs(s)
		if len(ips) == 0 {
			continue
		}
		key := lbspec.Key(s)
		byKey[key] = s
		svcs = append(svcs, l2plan.Service{
			Key: key, IPs: ips,
			Local:      s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
			ReadyNodes: ready[key],
		})
	}
	return cfg, problems, nodes, svcs, byKey, nil
}
