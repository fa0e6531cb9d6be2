package main

import (
	"context"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/explain"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
)

// loader lists the objects the reports read. Every command lists the
// same barelb objects (a few requests); doctor adds the cluster-wide
// workloads, CRDs and Leases.
type loader struct {
	c  client.Client
	ns string
}

func newLoader(cfg *rest.Config, ns string) (*loader, error) {
	s := crkube.Scheme()
	if err := apiextensionsv1.AddToScheme(s); err != nil {
		return nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return nil, err
	}
	return &loader{c: c, ns: ns}, nil
}

// load lists the objects; eventsNS, when set, is where Events are listed
// (the explained Service's namespace); moves lists the speakers'
// nodeAssigned Events in every namespace (status's moved IPs), filtered
// by the API server so only those come back.
func (l *loader) load(ctx context.Context, doctor, moves bool, eventsNS string) (*explain.Cluster, error) {
	cl := &explain.Cluster{Namespace: l.ns}
	var (
		inNS   = client.InNamespace(l.ns)
		svcs   corev1.ServiceList
		nss    corev1.NamespaceList
		nodes  corev1.NodeList
		events eventsv1.EventList
		assign eventsv1.EventList
	)
	lists := []listSpec{
		{list: &svcs, done: func() { cl.Services = svcs.Items }},
		{list: &nss, done: func() { cl.Namespaces = nss.Items }},
		{list: &nodes, done: func() { cl.Nodes = nodes.Items }},
	}
	if eventsNS != "" {
		lists = append(lists, listSpec{list: &events, opts: []client.ListOption{client.InNamespace(eventsNS)}, optional: true, done: func() { cl.Events = events.Items }})
	}
	if moves {
		lists = append(lists, listSpec{list: &assign, opts: []client.ListOption{client.MatchingFields{"reason": explain.ReasonNodeAssigned}},
			optional: true, done: func() { cl.AssignEvents = assign.Items }})
	}
	// The configuration kinds as the controller and speakers read them:
	// one stored object that does not decode is reported, not fatal.
	in, err := kube.ListConfig(ctx, crkube.Reader(l.c), l.ns)
	if err != nil {
		return nil, err
	}
	cl.Pools, cl.L2Advs, cl.BGPAdvs, cl.Peers, cl.Communities, cl.BFDProfiles, cl.Unreadable =
		in.Pools, in.L2Advertisements, in.BGPAdvertisements, in.Peers, in.Communities, in.BFDProfiles, in.Unreadable
	lists = append(lists, barelbLists(cl, inNS)...)
	if doctor {
		lists = append(lists, doctorLists(cl, inNS)...)
	}
	for _, x := range lists {
		if err := l.c.List(ctx, x.list, x.opts...); err != nil {
			if x.optional && (apierrors.IsForbidden(err) || apierrors.IsNotFound(err) || meta.IsNoMatchError(err)) {
				continue
			}
			return nil, fmt.Errorf("listing %T: %w", x.list, err)
		}
		x.done()
	}
	if doctor {
		var cm corev1.ConfigMap
		if err := l.c.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "kube-proxy"}, &cm); err == nil {
			cl.KubeProxy = &cm
		} else if !apierrors.IsNotFound(err) && !apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("reading kube-system/kube-proxy: %w", err)
		}
	}
	return cl, nil
}

// listSpec is one List: into list, then done copies the items over.
type listSpec struct {
	list client.ObjectList
	opts []client.ListOption
	// optional: an absent kind or no permission to list it is no error
	// (doctor reads what it can; events may be forbidden).
	optional bool
	done     func()
}

func barelbLists(cl *explain.Cluster, inNS client.ListOption) []listSpec {
	var (
		states v1beta1.ConfigurationStateList
		l2s    v1beta1.ServiceL2StatusList
		bgps   v1beta1.ServiceBGPStatusList
	)
	o := []client.ListOption{inNS}
	return []listSpec{
		{list: &states, opts: o, done: func() { cl.States = states.Items }},
		{list: &l2s, opts: o, done: func() { cl.L2Statuses = l2s.Items }},
		{list: &bgps, opts: o, done: func() { cl.BGPStatuses = bgps.Items }},
	}
}

func doctorLists(cl *explain.Cluster, inNS client.ListOption) []listSpec {
	var (
		dss    appsv1.DaemonSetList
		deps   appsv1.DeploymentList
		crds   apiextensionsv1.CustomResourceDefinitionList
		leases coordinationv1.LeaseList
		nodeLs coordinationv1.LeaseList
		secs   metav1.PartialObjectMetadataList
		mlPods corev1.PodList
		mlApp  corev1.PodList
	)
	secs.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	return []listSpec{
		{list: &dss, optional: true, done: func() { cl.DaemonSets = dss.Items }},
		{list: &deps, optional: true, done: func() { cl.Deployments = deps.Items }},
		{list: &crds, optional: true, done: func() { cl.CRDs = crds.Items }},
		// MetalLB's Pods by its labels (manifests: app=metallb; chart:
		// app.kubernetes.io/name=metallb), not every Pod of the cluster.
		{list: &mlApp, opts: []client.ListOption{client.MatchingLabels{"app": "metallb"}}, optional: true, done: func() { cl.Pods = append(cl.Pods, mlApp.Items...) }},
		{list: &mlPods, opts: []client.ListOption{client.MatchingLabels{"app.kubernetes.io/name": "metallb"}}, optional: true, done: func() { cl.Pods = append(cl.Pods, mlPods.Items...) }},
		{list: &leases, opts: []client.ListOption{inNS}, optional: true, done: func() { cl.Leases = append(cl.Leases, leases.Items...) }},
		{list: &nodeLs, opts: []client.ListOption{client.InNamespace("kube-node-lease")}, optional: true, done: func() { cl.Leases = append(cl.Leases, nodeLs.Items...) }},
		{list: &secs, opts: []client.ListOption{inNS}, optional: true, done: func() {
			for _, s := range secs.Items {
				cl.Secrets = append(cl.Secrets, s.Name)
			}
		}},
	}
}
