package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ServiceL2StatusSpec is empty: the object is written by the speaker.
type ServiceL2StatusSpec struct{}

// MetalLBServiceL2Status says which node answers ARP/NDP for a Service.
type MetalLBServiceL2Status struct {
	// Node is the node that receives the Service's traffic.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="node is immutable"
	Node string `json:"node,omitempty"`
	// ServiceName is the Service this status describes.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="serviceName is immutable"
	ServiceName string `json:"serviceName,omitempty"`
	// ServiceNamespace is the Service's namespace.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="serviceNamespace is immutable"
	ServiceNamespace string `json:"serviceNamespace,omitempty"`
	// Interfaces are the node interfaces that answer for the Service.
	// +optional
	Interfaces []InterfaceInfo `json:"interfaces,omitempty"`
}

// InterfaceInfo names one announcing interface.
type InterfaceInfo struct {
	// +optional
	Name string `json:"name,omitempty"`
}

// ServiceL2Status shows where a layer 2 Service's traffic arrives.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="Allocated Node",type=string,JSONPath=`.status.node`
// +kubebuilder:printcolumn:name="Service Name",type=string,JSONPath=`.status.serviceName`
// +kubebuilder:printcolumn:name="Service Namespace",type=string,JSONPath=`.status.serviceNamespace`
type ServiceL2Status struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceL2StatusSpec    `json:"spec,omitempty"`
	Status MetalLBServiceL2Status `json:"status,omitempty"`
}

// ServiceL2StatusList is a list of ServiceL2Status.
//
// +kubebuilder:object:root=true
type ServiceL2StatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceL2Status `json:"items"`
}

// ServiceBGPStatusSpec is empty: the object is written by the speaker.
type ServiceBGPStatusSpec struct{}

// MetalLBServiceBGPStatus says which peers a node advertises a Service to.
type MetalLBServiceBGPStatus struct {
	// Node is the advertising node.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="node is immutable"
	Node string `json:"node,omitempty"`
	// ServiceName is the Service this status describes.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="serviceName is immutable"
	ServiceName string `json:"serviceName,omitempty"`
	// ServiceNamespace is the Service's namespace.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="serviceNamespace is immutable"
	ServiceNamespace string `json:"serviceNamespace,omitempty"`
	// Peers are the BGPPeers the Service is configured to be advertised to.
	// +optional
	Peers []string `json:"peers,omitempty"`
}

// ServiceBGPStatus shows, per node, which peers a Service is advertised to.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="Node",type=string,JSONPath=`.status.node`
// +kubebuilder:printcolumn:name="Service Name",type=string,JSONPath=`.status.serviceName`
// +kubebuilder:printcolumn:name="Service Namespace",type=string,JSONPath=`.status.serviceNamespace`
type ServiceBGPStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ServiceBGPStatusSpec    `json:"spec,omitempty"`
	Status MetalLBServiceBGPStatus `json:"status,omitempty"`
}

// ServiceBGPStatusList is a list of ServiceBGPStatus.
//
// +kubebuilder:object:root=true
type ServiceBGPStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ServiceBGPStatus `json:"items"`
}

func init() {
	register(&ServiceL2Status{}, &ServiceL2StatusList{}, &ServiceBGPStatus{}, &ServiceBGPStatusList{})
}
