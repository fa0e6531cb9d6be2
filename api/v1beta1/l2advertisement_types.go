package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// L2AdvertisementSpec says which pools are announced with ARP/NDP, from
// which nodes and on which interfaces.
type L2AdvertisementSpec struct {
	// IPAddressPools names the pools to announce. With no pools and no
	// pool selectors, every pool is announced.
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`
	// IPAddressPoolSelectors select pools to announce by label.
	// +optional
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`
	// NodeSelectors limit the nodes that may announce. Empty means all nodes.
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`
	// Interfaces limit the node interfaces that announce. Empty means every
	// usable interface.
	// +optional
	Interfaces []string `json:"interfaces,omitempty"`
	// ServiceSelectors limit the advertisement to the Services whose labels
	// match any of them. Empty means every Service of the selected pools.
	// +optional
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
	// PreferredNodeSelectors are soft preferences for the node that
	// answers: among the eligible nodes (nodeSelectors), the one with the
	// highest sum of matching weights announces, and any eligible node
	// still takes over when no preferred one is available.
	// +optional
	PreferredNodeSelectors []PreferredNodeSelector `json:"preferredNodeSelectors,omitempty"`
}

// PreferredNodeSelector is one weighted node preference, shaped like a
// Pod's preferred scheduling term. The weights of every preference a node
// matches add up.
type PreferredNodeSelector struct {
	// Weight is how much matching this preference counts, 1 to 100.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`
	// Preference selects the nodes that get the weight; an empty selector
	// matches every node.
	Preference metav1.LabelSelector `json:"preference"`
}

// L2AdvertisementStatus is empty; problems are reported as Events.
type L2AdvertisementStatus struct{}

// L2Advertisement announces pools on the local network with ARP and NDP.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="IPAddressPools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="IPAddressPool Selectors",type=string,JSONPath=`.spec.ipAddressPoolSelectors`
// +kubebuilder:printcolumn:name="Interfaces",type=string,JSONPath=`.spec.interfaces`
// +kubebuilder:printcolumn:name="Node Selectors",type=string,JSONPath=`.spec.nodeSelectors`,priority=10
type L2Advertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   L2AdvertisementSpec   `json:"spec,omitempty"`
	Status L2AdvertisementStatus `json:"status,omitempty"`
}

// L2AdvertisementList is a list of L2Advertisement.
//
// +kubebuilder:object:root=true
type L2AdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []L2Advertisement `json:"items"`
}

func init() {
	register(&L2Advertisement{}, &L2AdvertisementList{})
}
