// Package kclient is the speaker's Kubernetes client: informer-backed
// reads and direct writes for the fixed set of kinds a speaker touches,
// on client-go's REST client and informers alone.
//
// It exists for memory. A DaemonSet pays its resident set on every node,
// and most of a Go binary's resident set is its own code and tables,
// paged in around every page the process touches. controller-runtime's
// client and manager import client-go's scheme of every API group (and,
// through leader election and the event broadcaster, every typed client
// and informer), which made the speaker binary 52 MB; without them it is
// under half of that, and its peak RSS in make bench-failover falls by
// the same order (README "Sizing"). The controller, one or two Pods per
// cluster, keeps controller-runtime (internal/kube).
//
// Semantics, as far as the speaker relies on them:
//   - Get and List of a kind given to Start are served from its informer
//     (namespace and label scope as configured), others go to the API
//     server; List copies objects unless NoCopy is given, and a List of an
//     unstructured list is served from that kind's unstructured informer
//     (the configuration kinds: see ListConfig).
//   - Writes go to the API server; errors are the API server's StatusErrors,
//     so k8s.io/apimachinery/pkg/api/errors' predicates apply.
//   - Start returns once every informer has synced: a reconcile never sees
//     a partial cluster.
//
// Costs: one LIST and one watch per configured kind for the process's
// life (resync off); a cached Get is a map lookup and a copy, a cached
// List is O(objects of the kind) plus the copies.
package kclient
