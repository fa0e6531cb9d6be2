package kube

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/meta"
)

// lastApplied is kubectl's copy of an object's whole applied manifest,
// often as large as the object itself.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// TrimForCache is the cache transform of barelb's controller and
// speakers: it drops what no barelb component reads but every cached
// object would otherwise carry, so a cluster's Nodes, Services and
// EndpointSlices cost less memory on every node:
//   - managedFields and kubectl's last-applied-configuration annotation;
//   - a Node's image list, volumes in use and attached (kilobytes per Node
//     on a busy cluster), and its daemon endpoints and node info;
//   - an endpoint's target reference, topology hints and deprecated
//     topology (barelb reads only its node, conditions and addresses).
//
// It runs once per object as the informer stores it.
func TrimForCache(o any) (any, error) {
	if m, err := meta.Accessor(o); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			kept := make(map[string]string, len(a)-1)
			for k, v := range a {
				if k != lastApplied {
					kept[k] = v
				}
			}
			m.SetAnnotations(kept)
		}
	}
	switch x := o.(type) {
	case *corev1.Node:
		x.Status.Images = nil
		x.Status.VolumesInUse = nil
		x.Status.VolumesAttached = nil
		x.Status.DaemonEndpoints = corev1.NodeDaemonEndpoints{}
		x.Status.NodeInfo = corev1.NodeSystemInfo{}
	case *discoveryv1.EndpointSlice:
		for i := range x.Endpoints {
			e := &x.Endpoints[i]
			e.TargetRef, e.Hints, e.DeprecatedTopology = nil, nil, nil
		}
	}
	return o, nil
}
