package app_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/lbspec"
	"github.com/barelb/barelb/testsupport/check"
)

// waitCondition polls until the Service's AddressAssigned condition has
// status and reason, and returns it.
func (f *fixture) waitCondition(name string, status metav1.ConditionStatus, reason string) metav1.Condition {
	f.t.Helper()
	var got *metav1.Condition
	err := check.Poll(10*time.Second, func() bool {
		var s corev1.Service
		if err := f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &s); err != nil {
			return false
		}
		got = meta.FindStatusCondition(s.Status.Conditions, lbspec.ConditionAddressAssigned)
		return got != nil && got.Status == status && got.Reason == reason
	})
	if err != nil {
		f.t.Fatalf("service %s: no %s condition %s/%s; last %+v", name, lbspec.ConditionAddressAssigned, status, reason, got)
	}
	return *got
}

// TestAddressAssignedCondition: the reason a Service is pending, and later
// the pool it was given addresses from, stay on the Service in the words
// of the Event; a reconcile that changes nothing leaves the condition be.
func TestAddressAssignedCondition(t *testing.T) {
	f := newFixture(t)
	f.svc("web")
	c := f.waitCondition("web", metav1.ConditionFalse, "NoAddressPoolAllowed")
	f.waitEvent(f.ns, "web", "NoAddressPoolAllowed", c.Message)
	if !strings.Contains(c.Message, "no address pools are configured") {
		t.Errorf("pending message %q does not say why", c.Message)
	}

	f.pool("small", nil, "198.18.40.1/32")
	c = f.waitCondition("web", metav1.ConditionTrue, "IPAllocated")
	if c.Message != `Assigned IP [198.18.40.1] from pool "small"` {
		t.Errorf("assigned message %q", c.Message)
	}
	f.waitEvent(f.ns, "web", "IPAllocated", c.Message)

	// A second Service finds the one-address pool full.
	f.svc("api")
	full := f.waitCondition("api", metav1.ConditionFalse, "AddressPoolExhausted")
	f.waitEvent(f.ns, "api", "AddressPoolExhausted", full.Message)

	// A label change is reconciled but changes no verdict: no status
	// write follows it.
	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &s))
	s.Labels = map[string]string{"touched": "yes"}
	check.Must(t, f.c.Update(f.ctx, &s))
	f.svc("probe") // reconciled after web's update: once it has its verdict, web's is settled
	f.waitCondition("probe", metav1.ConditionFalse, "AddressPoolExhausted")
	var after corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &after))
	if after.ResourceVersion != s.ResourceVersion {
		t.Errorf("Service written again without a change: %+v", after.Status)
	}

	// Leaving type LoadBalancer removes barelb's condition with the address.
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &s))
	s.Spec.Type = corev1.ServiceTypeClusterIP
	check.Must(t, f.c.Update(f.ctx, &s))
	check.Eventually(t, 10*time.Second, "condition removed from a ClusterIP Service", func() error {
		var got corev1.Service
		if err := f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &got); err != nil {
			return err
		}
		if c := meta.FindStatusCondition(got.Status.Conditions, lbspec.ConditionAddressAssigned); c != nil {
			return fmt.Errorf("still %+v", c)
		}
		return nil
	})
}
