package v1beta1

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons barelb writes on its objects' status. They
// live next to the types so the controller, the speakers and
// `kubectl barelb` read and write the same words.
const (
	// ConditionValid on IPAddressPool and ConfigurationState: whether the
	// object (or the whole configuration) is in use.
	ConditionValid = "Valid"
	// ReasonInUse: the pool is used for allocation.
	ReasonInUse = "InUse"
	// ReasonConfigurationValid: every configuration object is in use.
	ReasonConfigurationValid = "ConfigurationValid"
	// ReasonInvalidConfiguration: a problem keeps the object (or some
	// objects) out of use; the message names each.
	ReasonInvalidConfiguration = "InvalidConfiguration"

	// ConditionSupported on BGPPeer: whether barelb honours every field.
	ConditionSupported      = "Supported"
	ReasonAllFieldsHonoured = "AllFieldsHonoured"
	ReasonUnsupportedFields = "UnsupportedFields"
)

// SetCondition sets c in conds for an object at generation, always
// recording ObservedGeneration, and reports whether the stored condition
// changed (status, reason, message or generation), i.e. whether a status
// write is needed. LastTransitionTime moves only when Status does.
func SetCondition(conds *[]metav1.Condition, c metav1.Condition, generation int64) bool {
	c.ObservedGeneration = generation
	if have := meta.FindStatusCondition(*conds, c.Type); have != nil && have.Status == c.Status &&
		have.Reason == c.Reason && have.Message == c.Message && have.ObservedGeneration == c.ObservedGeneration {
		return false
	}
	meta.SetStatusCondition(conds, c)
	return true
}
