package kube

import (
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFirstErrKeepsFirstReal(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Resource: "x"}, "gone")
	conflict := apierrors.NewConflict(schema.GroupResource{Resource: "x"}, "changed", errors.New("stale"))
	var errs firstErr
	for _, err := range []error{nil, notFound, conflict, errors.New("write 3 failed"), errors.New("later")} {
		errs.keep(err)
	}
	if errs.err == nil || errs.err.Error() != "write 3 failed" {
		t.Errorf("kept %v, want the first error a sync may not ignore", errs.err)
	}
}
