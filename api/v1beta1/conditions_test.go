package v1beta1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSetConditionRecordsGenerationAndChange(t *testing.T) {
	var conds []metav1.Condition
	c := metav1.Condition{Type: ConditionValid, Status: metav1.ConditionTrue, Reason: ReasonInUse, Message: "used"}
	if !SetCondition(&conds, c, 3) || conds[0].ObservedGeneration != 3 {
		t.Fatalf("first set: %+v", conds)
	}
	if SetCondition(&conds, c, 3) {
		t.Fatal("setting the same condition again reported a change")
	}
	if !SetCondition(&conds, c, 4) || conds[0].ObservedGeneration != 4 {
		t.Fatal("a new generation was not recorded")
	}
}
