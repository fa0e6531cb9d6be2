package app

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/barelb/barelb/internal/kube"
)

// trimForSpeaker is the speaker's cache transform: kube.TrimForCache,
// then what a speaker never reads of the objects every speaker caches
// cluster-wide (the controller, which reads a Service's ports and
// selector for address sharing, keeps them):
//   - a Service's ports, selector and cluster IPs;
//   - an EndpointSlice's annotations, owner references, ports, labels but
//     the Service's name, and its endpoints' addresses (a speaker reads
//     only which node each ready endpoint is on);
//   - a Node's annotations (network plugins keep kilobytes there).
//
// About a third of a cached EndpointSlice, which at one IP announced
// with 1,000 Services in the cluster is most of the speaker's live heap.
func trimForSpeaker(o any) (any, error) {
	o, err := kube.TrimForCache(o)
	if err != nil {
		return o, err
	}
	switch x := o.(type) {
	case *corev1.Service:
		x.Spec.Ports, x.Spec.Selector = nil, nil
		x.Spec.ClusterIP, x.Spec.ClusterIPs = "", nil
	case *discoveryv1.EndpointSlice:
		x.Annotations, x.OwnerReferences, x.Ports = nil, nil, nil
		if name, ok := x.Labels[discoveryv1.LabelServiceName]; ok {
			x.Labels = map[string]string{discoveryv1.LabelServiceName: name}
		} else {
			x.Labels = nil
		}
		for i := range x.Endpoints {
			x.Endpoints[i].Addresses = nil
		}
	case *corev1.Node:
		x.Annotations = nil
	}
	return o, nil
}
