package app_test

import (
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

func one(ips []string) bool { return len(ips) == 1 }

func inRange(first, last string) func([]string) bool {
	f, l := netip.MustParseAddr(first), netip.MustParseAddr(last)
	return func(ips []string) bool {
		if len(ips) != 1 {
			return false
		}
		a, err := netip.ParseAddr(ips[0])
		return err == nil && f.Compare(a) <= 0 && a.Compare(l) <= 0
	}
}

// TestSeedWalkthrough replays seed 002: the LoadBalancer Service is
// <pending> with a reason, then the seed's own manifests, applied verbatim,
// give it an address from first-pool.
func TestSeedWalkthrough(t *testing.T) {
	f := newFixture(t)
	f.stop()
	f.cfgNS = "metallb-system"
	_ = f.c.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.cfgNS}})
	f.startController()

	f.svc("httpd-service")
	f.waitEvent(f.ns, "httpd-service", "", "")
	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "httpd-service"}, &s))
	if len(s.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("address assigned with no pool: %v", s.Status.LoadBalancer.Ingress)
	}
	evs := f.events(f.ns, "httpd-service")
	if len(evs) == 0 || evs[0].Type != corev1.EventTypeWarning {
		t.Fatalf("pending Service has no warning saying why: %+v", evs)
	}

	dir := filepath.Join(testenv.RepoRoot(), "config", "samples", "seed-002")
	pool := &v1beta1.IPAddressPool{}
	adv := &v1beta1.L2Advertisement{}
	for file, obj := range map[string]client.Object{"ipaddresspool.yaml": pool, "l2advertisement.yaml": adv} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		check.Must(t, err)
		check.Must(t, yaml.UnmarshalStrict(b, obj))
		check.Must(t, f.c.Create(f.ctx, obj))
		t.Cleanup(func() { _ = f.c.Delete(f.ctx, obj) })
	}
	f.waitIPs("httpd-service", inRange("192.168.11.136", "192.168.11.139"), "no address from first-pool")
	f.waitEvent(f.ns, "httpd-service", "IPAllocated", `"first-pool"`)
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "httpd-service"}, &s))
	if s.Annotations["metallb.io/ip-allocated-from-pool"] != "first-pool" {
		t.Errorf("ip-allocated-from-pool = %q", s.Annotations["metallb.io/ip-allocated-from-pool"])
	}
	// The pool's status counts the assignment.
	if err := check.Poll(10e9, func() bool {
		_ = f.c.Get(f.ctx, client.ObjectKeyFromObject(pool), pool)
		return pool.Status.AssignedIPv4 == 1 && pool.Status.AvailableIPv4 == 3
	}); err != nil {
		t.Fatalf("pool status %+v", pool.Status)
	}
}

func TestClusterIPAndNodePortUntouched(t *testing.T) {
	f := newFixture(t)
	f.pool("p", nil, "198.18.10.0/24")
	f.svc("cip", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP })
	f.svc("np", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort })
	f.svc("lb")
	f.assigned("lb") // the controller is working...
	for _, n := range []string{"cip", "np"} {
		var s corev1.Service
		check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: n}, &s))
		if len(s.Status.LoadBalancer.Ingress) != 0 || len(s.Annotations) != 0 || len(f.events(f.ns, n)) != 0 {
			t.Errorf("%s was touched: status %v annotations %v", n, s.Status.LoadBalancer.Ingress, s.Annotations)
		}
	}
}

func TestOtherLoadBalancerClassIgnored(t *testing.T) {
	f := newFixture(t)
	f.pool("p", nil, "198.18.11.0/24")
	cls := "example.com/other-lb"
	f.svc("theirs", func(s *corev1.Service) { s.Spec.LoadBalancerClass = &cls })
	f.svc("ours")
	f.assigned("ours")
	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "theirs"}, &s))
	if len(s.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("Service of another class got %v", s.Status.LoadBalancer.Ingress)
	}
}

func policy(p corev1.IPFamilyPolicy, fams ...corev1.IPFamily) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &p; s.Spec.IPFamilies = fams }
}

func TestDualStackPolicies(t *testing.T) {
	f := newFixture(t)
	f.pool("v4only", nil, "198.18.12.0/24")

	f.svc("single6", policy(corev1.IPFamilyPolicySingleStack, corev1.IPv6Protocol))
	f.waitEvent(f.ns, "single6", "IPFamilyNotAvailable", "")
	f.svc("require", policy(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv4Protocol, corev1.IPv6Protocol))
	f.waitEvent(f.ns, "require", "IPFamilyNotAvailable", "")
	f.svc("prefer", policy(corev1.IPFamilyPolicyPreferDualStack, corev1.IPv6Protocol, corev1.IPv4Protocol))
	f.waitIPs("prefer", inRange("198.18.12.0", "198.18.12.255"), "PreferDualStack did not take the IPv4 that exists")

	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "require"}, &s))
	if len(s.Status.LoadBalancer.Ingress) != 0 {
		t.Fatalf("RequireDualStack got a single-family address: %v", s.Status.LoadBalancer.Ingress)
	}

	// A dual-stack pool arrives: RequireDualStack gets both, IPv6 first as
	// its ipFamilies say; the pending single-stack IPv6 Service gets one.
	f.pool("dual", nil, "198.18.13.0/24", "2001:db8:13::/64")
	want := func(first6 bool) func([]string) bool {
		return func(ips []string) bool {
			if len(ips) != 2 {
				return false
			}
			a, b := netip.MustParseAddr(ips[0]), netip.MustParseAddr(ips[1])
			return a.Is6() == first6 && b.Is6() != first6
		}
	}
	f.svc("require6first", policy(corev1.IPFamilyPolicyRequireDualStack, corev1.IPv6Protocol, corev1.IPv4Protocol))
	f.waitIPs("require6first", want(true), "RequireDualStack did not get IPv6 then IPv4")
	f.waitIPs("require", want(false), "pending RequireDualStack not served by the new pool")
	f.waitIPs("single6", func(ips []string) bool { return len(ips) == 1 && netip.MustParseAddr(ips[0]).Is6() }, "single-stack IPv6")
}

func TestRequestedAddresses(t *testing.T) {
	f := newFixture(t)
	f.pool("manual", func(p *v1beta1.IPAddressPool) { no := false; p.Spec.AutoAssign = &no }, "198.18.14.0/28")
	f.pool("auto", nil, "198.18.15.0/28")

	f.svc("by-annotation", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": "198.18.14.5"}
	})
	f.waitIPs("by-annotation", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.14.5"}) }, "requested IP (autoAssign=false pool)")
	f.svc("by-spec", func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.18.15.9" })
	f.waitIPs("by-spec", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.15.9"}) }, "spec.loadBalancerIP")
	f.svc("legacy-pool", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.universe.tf/address-pool": "manual"}
	})
	f.waitIPs("legacy-pool", inRange("198.18.14.0", "198.18.14.15"), "pool named with the old annotation prefix")
	f.svc("plain")
	f.waitIPs("plain", inRange("198.18.15.0", "198.18.15.15"), "auto pool only")

	f.svc("taken", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": "198.18.14.5"}
	})
	f.waitEvent(f.ns, "taken", "IPAlreadyInUse", f.ns+"/by-annotation")
	f.svc("outside", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": "198.18.99.1"}
	})
	f.waitEvent(f.ns, "outside", "RequestedIPNotInPool", "198.18.99.1")
	f.svc("garbage", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.io/loadBalancerIPs": "not-an-ip"}
	})
	f.waitEvent(f.ns, "garbage", "InvalidLoadBalancerRequest", "not-an-ip")
	f.svc("nopool", func(s *corev1.Service) {
		s.Annotations = map[string]string{"metallb.io/address-pool": "nope"}
	})
	f.waitEvent(f.ns, "nopool", "UnknownAddressPool", "nope")
}

func TestSharing(t *testing.T) {
	f := newFixture(t)
	f.pool("p", nil, "198.18.16.0/28")
	share := func(key string, port int32, local bool) func(*corev1.Service) {
		return func(s *corev1.Service) {
			s.Annotations = map[string]string{"metallb.io/allow-shared-ip": key, "metallb.io/loadBalancerIPs": "198.18.16.3"}
			s.Spec.Ports[0].Port = port
			s.Spec.Selector = map[string]string{"app": "shared"}
			if local {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			}
		}
	}
	f.svc("http", share("k", 80, false))
	f.svc("https", share("k", 443, false))
	f.waitIPs("http", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.16.3"}) }, "first sharer")
	f.waitIPs("https", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.16.3"}) }, "second sharer on another port")

	f.svc("clash", share("k", 80, false))
	f.waitEvent(f.ns, "clash", "IPSharingConflict", "80")
	f.svc("otherkey", share("other", 8080, false))
	f.waitEvent(f.ns, "otherkey", "IPSharingConflict", "")
	f.svc("local", share("k", 9090, true))
	f.waitEvent(f.ns, "local", "IPSharingConflict", "")
}

func TestExhaustionAndSelectors(t *testing.T) {
	f := newFixture(t)
	f.pool("tiny", nil, "198.18.17.1-198.18.17.2")
	f.pool("team", func(p *v1beta1.IPAddressPool) {
		p.Spec.AllocateTo = &v1beta1.ServiceAllocation{
			Priority:         1,
			ServiceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": "blue"}}},
		}
	}, "198.18.18.0/30")
	for _, n := range []string{"a", "b"} {
		f.svc(n)
		f.waitIPs(n, inRange("198.18.17.1", "198.18.17.2"), "unlabelled Service from tiny")
	}
	f.svc("c")
	f.waitEvent(f.ns, "c", "AddressPoolExhausted", "tiny")
	f.svc("blue", func(s *corev1.Service) { s.Labels = map[string]string{"team": "blue"} })
	f.waitIPs("blue", inRange("198.18.18.0", "198.18.18.3"), "priority pool selected by label")

	// Deleting a Service frees its address for the pending one.
	check.Must(t, f.c.Delete(f.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "a"}}))
	// The pending Service is retried when something changes; touching it
	// is how a user would nudge it, but a freed address must be found on
	// the next reconcile without a config change.
	// As a user's client does: read, change, write, again on a conflict
	// (the controller writes the Service too).
	check.Must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var c corev1.Service
		if err := f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "c"}, &c); err != nil {
			return err
		}
		c.Labels = map[string]string{"nudge": "1"}
		return f.c.Update(f.ctx, &c)
	}))
	f.waitIPs("c", inRange("198.18.17.1", "198.18.17.2"), "freed address reused")
}

func TestLeavingLoadBalancerFreesAddress(t *testing.T) {
	f := newFixture(t)
	f.pool("one", nil, "198.18.19.7/32")
	f.svc("first")
	f.waitIPs("first", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.19.7"}) }, "the only address")
	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "first"}, &s))
	s.Spec.Type = corev1.ServiceTypeClusterIP
	s.Spec.Ports[0].NodePort = 0
	check.Must(t, f.c.Update(f.ctx, &s))
	f.waitIPs("first", func(ips []string) bool { return len(ips) == 0 }, "status not cleared after leaving LoadBalancer")
	f.svc("second")
	f.waitIPs("second", func(ips []string) bool { return slices.Equal(ips, []string{"198.18.19.7"}) }, "freed address not reused")
}

func TestPoolRemovedKeepsAddresses(t *testing.T) {
	f := newFixture(t)
	p := f.pool("going", nil, "198.18.20.0/30")
	f.svc("kept")
	ip := f.assigned("kept")
	check.Must(t, f.c.Delete(f.ctx, p))
	f.waitEvent(f.ns, "kept", "AddressOutOfPool", ip[0])
	got := f.waitIPs("kept", one, "lost its address")
	if got[0] != ip[0] {
		t.Fatalf("address moved from %s to %s when its pool went away", ip[0], got[0])
	}
}
