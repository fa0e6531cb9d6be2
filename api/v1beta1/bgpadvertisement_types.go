package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// BGPAdvertisementSpec says which pools are advertised over BGP, how, to
// which peers and from which nodes.
//
// An aggregated route stands for many Services, so it cannot follow one
// Service's labels: serviceSelectors go only with the default /32 and /128.
//
// +kubebuilder:validation:XValidation:rule="!has(self.serviceSelectors) || self.serviceSelectors.size() == 0 || ((!has(self.aggregationLength) || self.aggregationLength == 32) && (!has(self.aggregationLengthV6) || self.aggregationLengthV6 == 128))",message="serviceSelectors can only be used with the default aggregationLength (32) and aggregationLengthV6 (128)"
type BGPAdvertisementSpec struct {
	// AggregationLength rolls IPv4 /32 routes up into this prefix length.
	// +optional
	// +kubebuilder:default:=32
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=32
	AggregationLength *int32 `json:"aggregationLength,omitempty"`

	// AggregationLengthV6 rolls IPv6 /128 routes up into this prefix length.
	// +optional
	// +kubebuilder:default:=128
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=128
	AggregationLengthV6 *int32 `json:"aggregationLengthV6,omitempty"`

	// LocalPref is the BGP LOCAL_PREF attribute; it only applies to iBGP sessions.
	// +optional
	LocalPref uint32 `json:"localPref,omitempty"`

	// Communities are literal communities or names of Community aliases.
	// +optional
	// +kubebuilder:validation:MaxItems=64
	Communities []CommunityRef `json:"communities,omitempty"`

	// IPAddressPools names the pools to advertise. With no pools and no
	// pool selectors, every pool is advertised.
	// +optional
	IPAddressPools []string `json:"ipAddressPools,omitempty"`

	// IPAddressPoolSelectors select pools to advertise by label.
	// +optional
	IPAddressPoolSelectors []metav1.LabelSelector `json:"ipAddressPoolSelectors,omitempty"`

	// NodeSelectors limit the nodes that advertise. Empty means all nodes.
	// +optional
	NodeSelectors []metav1.LabelSelector `json:"nodeSelectors,omitempty"`

	// Peers limits the advertisement to these BGPPeer names. Empty means all peers.
	// +optional
	Peers []string `json:"peers,omitempty"`

	// ServiceSelectors limit the advertisement to the Services whose labels
	// match any of them. Empty means every Service of the selected pools.
	// +optional
	ServiceSelectors []metav1.LabelSelector `json:"serviceSelectors,omitempty"`
}

// BGPAdvertisementStatus is empty; problems are reported as Events.
type BGPAdvertisementStatus struct{}

// BGPAdvertisement advertises pools to BGP peers.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="IPAddressPools",type=string,JSONPath=`.spec.ipAddressPools`
// +kubebuilder:printcolumn:name="IPAddressPool Selectors",type=string,JSONPath=`.spec.ipAddressPoolSelectors`
// +kubebuilder:printcolumn:name="Peers",type=string,JSONPath=`.spec.peers`
// +kubebuilder:printcolumn:name="Node Selectors",type=string,JSONPath=`.spec.nodeSelectors`,priority=10
type BGPAdvertisement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BGPAdvertisementSpec   `json:"spec,omitempty"`
	Status BGPAdvertisementStatus `json:"status,omitempty"`
}

// BGPAdvertisementList is a list of BGPAdvertisement.
//
// +kubebuilder:object:root=true
type BGPAdvertisementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BGPAdvertisement `json:"items"`
}

func init() {
	register(&BGPAdvertisement{}, &BGPAdvertisementList{})
}
