package v1beta1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ConfigurationStateResult is the verdict on the configuration a component loaded.
// +kubebuilder:validation:Enum=Valid;Invalid;Unknown
type ConfigurationStateResult string

// The possible verdicts.
const (
	ConfigurationStateValid   ConfigurationStateResult = "Valid"
	ConfigurationStateInvalid ConfigurationStateResult = "Invalid"
	ConfigurationStateUnknown ConfigurationStateResult = "Unknown"
)

// ConfigurationStateStatus reports whether a component accepted the configuration.
type ConfigurationStateStatus struct {
	// Result is Valid when every configuration object was accepted.
	// +optional
	Result ConfigurationStateResult `json:"result,omitempty"`
	// ErrorSummary lists every problem found, naming the objects involved;
	// empty when Result is Valid.
	// +optional
	ErrorSummary string `json:"errorSummary,omitempty"`
	// Conditions carry the detail per reconciler.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ConfigurationState is written by the controller and each speaker to say
// whether the barelb configuration they loaded is valid. As in MetalLB,
// the labels metallb.io/component-type ("controller" or "speaker") and,
// for a speaker, metallb.io/node-name tell whose verdict it is.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=barelb
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="ErrorSummary",type=string,JSONPath=`.status.errorSummary`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ConfigurationState struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Status ConfigurationStateStatus `json:"status,omitempty"`
}

// ConfigurationStateList is a list of ConfigurationState.
//
// +kubebuilder:object:root=true
type ConfigurationStateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ConfigurationState `json:"items"`
}

func init() {
	register(&ConfigurationState{}, &ConfigurationStateList{})
}
