package app_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/check"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// TestRestartUnderChurn restarts the controller three times while Services
// are created and deleted. Afterwards every Service has an address, no
// address is held twice, and no Service that existed before the restarts
// has a different address.
func TestRestartUnderChurn(t *testing.T) {
	f := newFixture(t)
	f.pool("p", nil, "198.18.21.0/24")
	before := map[string]string{}
	for i := 0; i < 40; i++ {
		f.svc(fmt.Sprintf("stable-%d", i))
	}
	for i := 0; i < 40; i++ {
		n := fmt.Sprintf("stable-%d", i)
		before[n] = f.assigned(n)[0]
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	// The churn stops on every exit path: left running after a failure it
	// would load the shared API server and fail every later test.
	t.Cleanup(func() { cancel(); wg.Wait() })
	wg.Add(1)
	go func() { // churn: create and delete Services as fast as the API allows
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			s := &corev1.Service{
				ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: fmt.Sprintf("churn-%d", i)},
				Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer,
					Ports: []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}}},
			}
			_ = f.c.Create(context.Background(), s)
			if i%3 == 0 && i > 0 {
				_ = f.c.Delete(context.Background(), &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: fmt.Sprintf("churn-%d", i-1)}})
			}
			time.Sleep(5 * time.Millisecond) // pacing the load generator, not synchronisation
		}
	}()
	for r := 0; r < 3; r++ {
		f.stop()
		f.startController()
		// Let the new controller work for a moment under churn before the
		// next restart: wait until it has assigned a newly created Service.
		probe := fmt.Sprintf("probe-%d", r)
		f.svc(probe)
		f.assigned(probe)
	}
	cancel()
	wg.Wait()

	var svcs corev1.ServiceList
	if err := check.Poll(20*time.Second, func() bool {
		if err := f.c.List(f.ctx, &svcs, client.InNamespace(f.ns)); err != nil {
			return false
		}
		for _, s := range svcs.Items {
			if len(s.Status.LoadBalancer.Ingress) == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		t.Fatalf("not every Service got an address after the restarts")
	}
	holder := map[string]string{}
	for _, s := range svcs.Items {
		ip := s.Status.LoadBalancer.Ingress[0].IP
		if other, dup := holder[ip]; dup {
			t.Errorf("address %s held by both %s and %s", ip, other, s.Name)
		}
		holder[ip] = s.Name
		if old, ok := before[s.Name]; ok && old != ip {
			t.Errorf("%s moved from %s to %s across restarts", s.Name, old, ip)
		}
	}
	t.Logf("%d Services after 3 restarts under churn; no duplicates, no moves", len(svcs.Items))
}
