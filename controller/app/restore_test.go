package app

import (
	"context"
	"errors"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
)

// A failed first restore is retried, and reconciles stay gated until one
// succeeds. (The controller once cached the first error in a sync.Once, so
// one API hiccup at start-up left it refusing every reconcile for good.)
func TestRestoreRetriesUntilItSucceeds(t *testing.T) {
	pool := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: "metallb-system", Name: "p"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.40.0/28"}}}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
		Spec:   corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.18.40.3"}}}}}
	var serviceLists atomic.Int32
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(pool, svc).WithStatusSubresource(svc).
		WithInterceptorFuncs(interceptor.Funcs{List: func(ctx context.Context, c client.WithWatch, l client.ObjectList, opts ...client.ListOption) error {
			if _, ok := l.(*corev1.ServiceList); ok && serviceLists.Add(1) <= 2 {
				return errors.New("the API server is not ready yet")
			}
			return c.List(ctx, l, opts...)
		}}).Build()
	st := newState(Options{Namespace: "metallb-system"}, newMetrics(nil))
	r := &restorer{c: c, state: st, minBackoff: 5 * time.Millisecond, maxBackoff: 20 * time.Millisecond}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	short, cancelShort := context.WithTimeout(ctx, 2*time.Millisecond)
	if err := st.waitReady(short); err == nil {
		t.Fatal("reconciles were not gated before the restore")
	}
	cancelShort()
	done := make(chan error, 1)
	go func() { done <- r.Start(ctx) }()
	check.Must(t, st.waitReady(ctx))
	check.Must(t, <-done)
	// Two failed attempts (each stops at its first list), then one that
	// lists Services twice: for the pools in use, then for the addresses.
	if n := serviceLists.Load(); n != 4 {
		t.Fatalf("%d Service lists, want 2 failed attempts then 2 lists of the successful one", n)
	}
	got, ok := st.alloc.Assignment("apps/web")
	if !ok || len(got.IPs) != 1 || got.IPs[0] != netip.MustParseAddr("198.18.40.3") || got.Pool != "p" {
		t.Fatalf("restored assignment = %+v, %v", got, ok)
	}
}
