package app

import (
	"context"
	"fmt"
	"github.com/barelb/barelb/internal/kclient"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

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
// keep, if set, keeps the Services' ready nodes and conversions from the
// previous pass (nil: built afresh).
func readSnapshot(ctx context.Context, c kclient.Reader, opts Options, alive map[string]bool, keep *snapCache) (*snapshot, error) {
	in, err := kube.ListConfig(ctx, c, opts.Namespace)
	if err != nil {
		return nil, err
	}
	// Read-only: the cache's objects themselves, not a copy of every
	// Node, Service and EndpointSlice per pass (which doubled the live
	// heap during a pass and set the speaker's peak RSS).
	nodes, err := kclient.ListPointers[corev1.Node](ctx, c, &corev1.NodeList{}, kclient.NoCopy)
	if err != nil {
		return nil, fmt.Errorf("listing Nodes: %w", err)
	}
	svcs, err := kclient.ListPointers[corev1.Service](ctx, c, &corev1.ServiceList{}, kclient.NoCopy)
	if err != nil {
		return nil, fmt.Errorf("listing Services: %w", err)
	}
	eps, err := kclient.ListPointers[discoveryv1.EndpointSlice](ctx, c, &discoveryv1.EndpointSliceList{}, kclient.NoCopy)
	if err != nil {
		return nil, fmt.Errorf("listing EndpointSlices: %w", err)
	}
	if keep == nil {
		keep = &snapCache{}
	}
	s := &snapshot{byKey: make(map[string]*corev1.Service, len(svcs)), peers: in.Peers, bgpAdvs: in.BGPAdvertisements}
	conv := keep.svcs.convert(svcs, opts.LBClass)
	in.InUse = map[string]bool{}
	for _, e := range conv {
		if e.pool != "" {
			in.InUse[e.pool] = true
		}
	}
	s.cfg, s.problems = config.Build(in)
	for _, n := range nodes {
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
	keep.ready.update(eps)
	s.svcs = make([]eligibility.Service, 0, len(conv))
	for i, e := range conv {
		if !e.use {
			continue
		}
		s.byKey[e.svc.Key] = svcs[i]
		es := e.svc
		es.ReadyNodes = keep.ready.of(es.Key)
		s.svcs = append(s.svcs, es)
	}
	return s, nil
}

// snapCache is what a reconciler keeps from one snapshot to the next.
type snapCache struct {
	ready readyCache
	svcs  svcCache
}

// svcCache keeps each Service's conversion for as long as the cache
// holds the same object at the same resourceVersion (the informer
// replaces an object on update, it never changes one), so a pass over
// 50,000 unchanged Services looks them up instead of converting each
// (key, addresses, pool: five allocations a Service). Entries of objects
// a pass no longer meets are dropped at its end.
type svcCache struct {
	pass  uint64
	byObj map[*corev1.Service]*svcEntry
}

type svcEntry struct {
	pass    uint64
	version string
	svc     eligibility.Service // without ReadyNodes
	use     bool                // this class's, with addresses: planned
	pool    string              // the pool it was allocated from, "" for none
}

// convert returns the entry of each of svcs, in their order.
func (c *svcCache) convert(svcs []*corev1.Service, lbClass string) []*svcEntry {
	if c.byObj == nil {
		c.byObj = map[*corev1.Service]*svcEntry{}
	}
	c.pass++
	out := make([]*svcEntry, len(svcs))
	for i, svc := range svcs {
		e := c.byObj[svc]
		if e == nil || e.version != svc.ResourceVersion || svc.ResourceVersion == "" {
			e = convertService(svc, lbClass)
			c.byObj[svc] = e
		}
		e.pass = c.pass
		out[i] = e
	}
	if len(c.byObj) > len(svcs) {
		for obj, e := range c.byObj {
			if e.pass != c.pass {
				delete(c.byObj, obj)
			}
		}
	}
	return out
}

func convertService(svc *corev1.Service, lbClass string) *svcEntry {
	e := &svcEntry{version: svc.ResourceVersion, pool: lbspec.AllocatedPool(svc, lbClass)}
	if !lbspec.Handles(svc, lbClass) {
		return e
	}
	ips := lbspec.IngressIPs(svc)
	if len(ips) == 0 {
		return e
	}
	e.use = true
	e.svc = eligibility.Service{
		Key: lbspec.Key(svc), IPs: ips, Labels: svc.Labels,
		Local: svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal,
	}
	return e
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

// readyCache holds each Service's ready nodes (those with a ready
// endpoint) from one snapshot to the next: a Service whose EndpointSlices
// are the same (by name) at the same resourceVersions keeps its map, so
// it is not rebuilt and the layer 2 planner, which compares maps by
// identity first, finds it unchanged in O(1) (l2plan.Planner.Sync). The
// maps handed out are never modified: a change builds a new one.
//
// Cost per pass: O(slices) lookups (and a key string per slice), a walk
// of the Services' entries, then O(endpoints) of the Services whose slices
// changed. A zero readyCache is ready to use; one used once is what every
// pass built before it.
type readyCache struct {
	pass    uint64
	entries map[string]*readyEntry
	// keys memoises each slice object's Service key (an informer never
	// changes an object it holds: an update is a new one), so a pass
	// builds no key string for a slice it met before.
	keys map[*discoveryv1.EndpointSlice]*sliceKey
}

type sliceKey struct {
	key  string
	pass uint64
}

// keyOf is s's Service key, memoised.
func (c *readyCache) keyOf(s *discoveryv1.EndpointSlice) string {
	k := c.keys[s]
	if k == nil {
		k = &sliceKey{key: sliceService(s)}
		c.keys[s] = k
	}
	k.pass = c.pass
	return k.key
}

type readyEntry struct {
	nodes    map[string]bool // nil: none ready
	versions []sliceVersion  // the slices nodes was built from
	pass     uint64          // the last pass that met one of its slices
	met      int             // its slices met in that pass
	stale    bool            // one of them new, changed, or unversioned
}

type sliceVersion struct{ name, version string }

// sliceService is the key of the Service an EndpointSlice belongs to
// ("" for none).
func sliceService(s *discoveryv1.EndpointSlice) string {
	name := s.Labels[discoveryv1.LabelServiceName]
	if name == "" {
		return ""
	}
	return s.Namespace + "/" + name
}

// update reads one pass's EndpointSlices.
func (c *readyCache) update(items []*discoveryv1.EndpointSlice) {
	if c.entries == nil {
		c.entries = map[string]*readyEntry{}
		c.keys = map[*discoveryv1.EndpointSlice]*sliceKey{}
	}
	c.pass++
	for _, s := range items {
		key := c.keyOf(s)
		if key == "" {
			continue
		}
		e := c.entries[key]
		if e == nil {
			e = &readyEntry{}
			c.entries[key] = e
		}
		if e.pass != c.pass {
			e.pass, e.met, e.stale = c.pass, 0, false
		}
		e.met++
		// Without a version (objects never stored) nothing says it is
		// the same.
		e.stale = e.stale || s.ResourceVersion == "" || !slices.Contains(e.versions, sliceVersion{s.Name, s.ResourceVersion})
	}
	if len(c.keys) > len(items) {
		for s, k := range c.keys {
			if k.pass != c.pass {
				delete(c.keys, s)
			}
		}
	}
	rebuild := false
	for key, e := range c.entries {
		switch {
		case e.pass != c.pass:
			delete(c.entries, key) // no slice left
		case e.stale || e.met != len(e.versions):
			e.nodes, e.versions, e.stale = nil, nil, true
			rebuild = true
		}
	}
	if !rebuild {
		return
	}
	for _, s := range items {
		e := c.entries[c.keyOf(s)]
		if e == nil || !e.stale {
			continue
		}
		e.versions = append(e.versions, sliceVersion{s.Name, s.ResourceVersion})
		for _, ep := range s.Endpoints {
			// A nil Ready means ready, per the EndpointSlice API.
			if ep.Conditions.Ready != nil && !*ep.Conditions.Ready {
				continue
			}
			if e.nodes == nil {
				e.nodes = map[string]bool{}
			}
			node := ""
			if ep.NodeName != nil {
				node = *ep.NodeName
			}
			e.nodes[node] = true
		}
	}
	// stale stays set on the rebuilt entries until the next pass meets
	// them (it resets it); none is read before.
}

// of returns the ready nodes of the Service of key (nil: none).
func (c *readyCache) of(key string) map[string]bool {
	if e := c.entries[key]; e != nil {
		return e.nodes
	}
	return nil
}
