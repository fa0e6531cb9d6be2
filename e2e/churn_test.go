package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/barelb/barelb/e2e/lab"
	"github.com/barelb/barelb/internal/lbspec"
	"github.com/barelb/barelb/testsupport/check"
)

// TestLBControllerRestartDuringChurn: Services are created and deleted
// while barelb's controller is killed (SIGKILL), started again, and
// restarted gracefully (SIGTERM). Afterwards every LoadBalancer Service has
// an address, no address is held by two Services that do not share it,
// and no Service that existed before the churn has a new address.
func TestLBControllerRestartDuringChurn(t *testing.T) {
	l := lbLab(t)
	defer timed("lb: controller restarts during churn")()
	const ns, pool = "lb-churn", "e2e-lb-churn"
	lbPool(t, l, pool, "198.18.1.177-198.18.1.189")
	lbNamespace(t, l, ns, 1, "")
	svcs := l.Client.CoreV1().Services(ns)
	newSvc := func(name string) *corev1.Service {
		single := corev1.IPFamilyPolicySingleStack
		return &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Annotations: map[string]string{lbspec.Prefix + lbspec.KeyAddressPool: pool}},
			Spec: corev1.ServiceSpec{
				Type: corev1.ServiceTypeLoadBalancer, Selector: map[string]string{"app": "web"},
				IPFamilyPolicy: &single, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
				Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(80)}},
			},
		}
	}
	// Services that live through the churn, with their addresses before.
	before := map[string]netip.Addr{}
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("keep-%d", i)
		if _, err := svcs.Create(ctx(t), newSvc(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 4; i++ {
		name := fmt.Sprintf("keep-%d", i)
		before[name] = lbIPs(t, l, ns, name, 1)[0]
	}

	// Churn: create a Service, and once five churn Services exist delete
	// the oldest, as fast as the API server takes it.
	var ops atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var churnErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		var live []string
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("churn-%d", i)
			if _, err := svcs.Create(context.Background(), newSvc(name), metav1.CreateOptions{}); err != nil {
				churnErr = err
				return
			}
			live = append(live, name)
			if len(live) > 5 {
				if err := svcs.Delete(context.Background(), live[0], metav1.DeleteOptions{}); err != nil {
					churnErr = err
					return
				}
				live = live[1:]
			}
			ops.Add(1)
			time.Sleep(100 * time.Millisecond) // pacing the churn, not synchronising
		}
	}()
	stopChurn := func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}
	t.Cleanup(stopChurn)
	atLeast := func(n int64) {
		t.Helper()
		check.Eventually(t, 60*time.Second, fmt.Sprintf("%d churn operations", n), func() error {
			if churnErr != nil {
				t.Fatalf("churn: %v", churnErr)
			}
			if got := ops.Load(); got < n {
				return fmt.Errorf("%d so far", got)
			}
			return nil
		})
	}
	atLeast(5)
	l.Controller.Kill()
	t.Log("controller killed")
	atLeast(ops.Load() + 8)
	if err := l.Controller.Start(); err != nil {
		t.Fatal(err)
	}
	t.Log("controller started again")
	atLeast(ops.Load() + 8)
	if err := l.Controller.Restart(); err != nil {
		t.Fatal(err)
	}
	t.Log("controller restarted (SIGTERM)")
	atLeast(ops.Load() + 8)
	stopChurn()
	if churnErr != nil {
		t.Fatalf("churn: %v", churnErr)
	}
	t.Logf("%d churn operations", ops.Load())

	// Settled: every LoadBalancer Service in ns has its address.
	check.Eventually(t, 60*time.Second, "every Service in "+ns+" has an address", func() error {
		list, err := svcs.List(context.Background(), metav1.ListOptions{})
		if err != nil {
			return err
		}
		for _, s := range list.Items {
			if s.DeletionTimestamp == nil && len(ingressIPs(&s)) != 1 {
				return fmt.Errorf("%s: ingress %v", s.Name, s.Status.LoadBalancer.Ingress)
			}
		}
		return nil
	})
	for name, ip := range before {
		if now := lbIPs(t, l, ns, name, 1)[0]; now != ip {
			t.Errorf("%s: address changed from %s to %s across the controller restarts", name, ip, now)
		}
	}
	// No address twice in the whole cluster, outside Services sharing it.
	all, err := l.Client.CoreV1().Services("").List(ctx(t), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	owner := map[netip.Addr]string{}
	var mine []netip.Addr
	for _, s := range all.Items {
		if _, _, shared := lbspec.Annotation(&s, lbspec.KeyAllowSharedIP); shared {
			continue
		}
		for _, ip := range ingressIPs(&s) {
			if o, dup := owner[ip]; dup {
				t.Errorf("%s held by both %s and %s/%s", ip, o, s.Namespace, s.Name)
			}
			owner[ip] = s.Namespace + "/" + s.Name
			if s.Namespace == ns {
				mine = append(mine, ip)
			}
		}
	}
	t.Logf("after the churn: %d Services in %s, addresses %v", len(mine), ns, mine)
	for _, ip := range before {
		get(t, l.ClientNS, lab.URL(ip, 80))
	}
	oneAnswerer(t, l, mine...)
}
