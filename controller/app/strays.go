package app

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
)

// strays lists configuration objects outside barelb's namespace, which
// MetalLB ignores silently and barelb reports: as problems named
// "namespace/name" (for the ConfigurationState and an Event on the
// object). The manager's cache holds only barelb's namespace, so this is
// one uncached, metadata-only LIST per kind on each configuration reload
// (six small requests, on configuration changes only) rather than
// cluster-wide watches kept open for objects that should not exist. An
// object created elsewhere is therefore reported at the next reload or
// controller start, not the moment it appears.
func strays(ctx context.Context, api client.Reader, ns string) (config.Problems, error) {
	var out config.Problems
	for _, gvk := range kube.ConfigKinds {
		var l metav1.PartialObjectMetadataList
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := api.List(ctx, &l); err != nil {
			return nil, fmt.Errorf("listing %ss in every namespace: %w", gvk.Kind, err)
		}
		for _, o := range l.Items {
			if o.Namespace == ns {
				continue
			}
			out = append(out, config.Problem{Kind: gvk.Kind, Name: o.Namespace + "/" + o.Name, Message: fmt.Sprintf(
				"this %s is in namespace %q, but barelb reads configuration only from %q: it is not used (move it there)", gvk.Kind, o.Namespace, ns)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out, nil
}

// strayObject is the object an Event about a stray goes on.
func strayObject(p config.Problem, namespace, name string) client.Object {
	for _, gvk := range kube.ConfigKinds {
		if gvk.Kind == p.Kind {
			o := &metav1.PartialObjectMetadata{}
			o.SetGroupVersionKind(gvk)
			o.Namespace, o.Name = namespace, name
			return o
		}
	}
	return nil
}
