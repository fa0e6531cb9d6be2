// Package v1beta1 holds the metallb.io/v1beta1 API that barelb serves.
//
// The JSON field names, defaults and semantics match MetalLB's published
// v1beta1 types so existing manifests apply unchanged; barelb adds CEL
// validation so the API server rejects malformed objects itself.
//
// +kubebuilder:object:generate=true
// +groupName=metallb.io
package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every kind in this package.
	GroupVersion = schema.GroupVersion{Group: "metallb.io", Version: "v1beta1"}

	// SchemeBuilder registers this package's kinds with a scheme.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

// objects is filled by each kind's init; plain apimachinery keeps the API
// package importable without controller-runtime.
var objects []runtime.Object

func register(objs ...runtime.Object) { objects = append(objects, objs...) }

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion, objects...)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
