package kclient

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
)

// Scheme holds the groups a speaker reads or writes, and no others: each
// group registered pulls its types' code into the binary (see the
// package comment).
func Scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme, discoveryv1.AddToScheme, appsv1.AddToScheme, eventsv1.AddToScheme,
		v1beta1.AddToScheme, v1beta2.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err) // only on a programming error in the API packages
		}
	}
	metav1.AddToGroupVersion(s, schema.GroupVersion{Version: "v1"})
	return s
}

// resources maps each kind this client serves to its REST resource and
// whether it is namespaced: a fixed table, so no discovery round trip
// precedes the first read.
var resources = map[schema.GroupKind]struct {
	name       string
	namespaced bool
}{
	{Kind: "Node"}:      {"nodes", false},
	{Kind: "Service"}:   {"services", true},
	{Kind: "Secret"}:    {"secrets", true},
	{Kind: "Pod"}:       {"pods", true},
	{Kind: "Namespace"}: {"namespaces", false},
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}:              {"endpointslices", true},
	{Group: "apps", Kind: "DaemonSet"}:                              {"daemonsets", true},
	{Group: "events.k8s.io", Kind: "Event"}:                         {"events", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "IPAddressPool"}:      {"ipaddresspools", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "L2Advertisement"}:    {"l2advertisements", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "BGPAdvertisement"}:   {"bgpadvertisements", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "BGPPeer"}:            {"bgppeers", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "Community"}:          {"communities", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "BFDProfile"}:         {"bfdprofiles", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "ServiceL2Status"}:    {"servicel2statuses", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "ServiceBGPStatus"}:   {"servicebgpstatuses", true},
	{Group: v1beta1.GroupVersion.Group, Kind: "ConfigurationState"}: {"configurationstates", true},
}
