package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// CommunitySpec names BGP community values so advertisements can refer to
// them by name.
type CommunitySpec struct {
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Communities []CommunityAlias `json:"communities,omitempty"`
}

// CommunityAlias gives a community value a name.
type CommunityAlias struct {
	// Name is how BGPAdvertisement.spec.communities refers to the value.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="!self.contains(':')",message="an alias name must not contain ':' (that would read as a literal community)"
	Name string `json:"name"`
	// Value is the community, "AS:value" or "large:AS:value1:value2".
	Value CommunityValue `json:"value"`
}

// CommunityStatus is empty.
type CommunityStatus struct{}

// Community is a set of named BGP community values.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
type Community struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   CommunitySpec   `json:"spec,omitempty"`
	Status CommunityStatus `json:"status,omitempty"`
}

// CommunityList is a list of Community.
//
// +kubebuilder:object:root=true
type CommunityList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Community `json:"items"`
}

func init() {
	register(&Community{}, &CommunityList{})
}
