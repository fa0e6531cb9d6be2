package lbspec

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/allocator"
)

func svc(ann map[string]string, mut ...func(*corev1.Service)) *corev1.Service {
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", Annotations: ann},
		Spec: corev1.ServiceSpec{
			Type:       corev1.ServiceTypeLoadBalancer,
			IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			Ports:      []corev1.ServicePort{{Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, m := range mut {
		m(s)
	}
	return s
}

func policy(p corev1.IPFamilyPolicy) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.IPFamilyPolicy = &p }
}

func TestRequest(t *testing.T) {
	for _, tc := range []struct {
		name     string
		svc      *corev1.Service
		ips      string
		pool     string
		fams     []addr.Family
		pol      allocator.FamilyPolicy
		shareKey string
		err      string
	}{
		{name: "plain", svc: svc(nil), fams: []addr.Family{addr.IPv4}},
		{name: "annotation ips", svc: svc(map[string]string{"metallb.io/loadBalancerIPs": "198.18.0.5, 2001:db8::5"}, policy(corev1.IPFamilyPolicyPreferDualStack)), ips: "198.18.0.5,2001:db8::5", pol: allocator.PreferDualStack},
		{name: "legacy prefix", svc: svc(map[string]string{"metallb.universe.tf/loadBalancerIPs": "198.18.0.5", "metallb.universe.tf/address-pool": "p", "metallb.universe.tf/allow-shared-ip": "k"}), ips: "198.18.0.5", pool: "p", shareKey: "k"},
		{name: "current prefix wins", svc: svc(map[string]string{"metallb.universe.tf/address-pool": "old", "metallb.io/address-pool": "new"}), pool: "new", fams: []addr.Family{addr.IPv4}},
		{name: "spec.loadBalancerIP", svc: svc(nil, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.18.0.9" }), ips: "198.18.0.9"},
		{name: "both ways", svc: svc(map[string]string{"metallb.io/loadBalancerIPs": "198.18.0.5"}, func(s *corev1.Service) { s.Spec.LoadBalancerIP = "198.18.0.9" }), err: "both"},
		{name: "bad ip", svc: svc(map[string]string{"metallb.io/loadBalancerIPs": "198.18.0.300"}), err: "not an IP"},
		{name: "two v4", svc: svc(map[string]string{"metallb.io/loadBalancerIPs": "198.18.0.1,198.18.0.2"}), err: "same family"},
		{name: "family mismatch", svc: svc(map[string]string{"metallb.io/loadBalancerIPs": "2001:db8::1"}), err: "ipFamilies"},
		{name: "require dual v6 first", svc: svc(nil, policy(corev1.IPFamilyPolicyRequireDualStack), func(s *corev1.Service) {
			s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol, corev1.IPv4Protocol}
		}), fams: []addr.Family{addr.IPv6, addr.IPv4}, pol: allocator.RequireDualStack},
		{name: "prefer dual on single list", svc: svc(nil, policy(corev1.IPFamilyPolicyPreferDualStack)), fams: []addr.Family{addr.IPv4, addr.IPv6}, pol: allocator.PreferDualStack},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Request(tc.svc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []netip.Addr
			if tc.ips != "" {
				want, _ = ParseIPList(tc.ips)
			}
			if len(r.IPs) != len(want) {
				t.Fatalf("IPs %v, want %v", r.IPs, want)
			}
			for i := range want {
				if r.IPs[i] != want[i] {
					t.Fatalf("IPs %v, want %v", r.IPs, want)
				}
			}
			if r.Pool != tc.pool || r.Sharing.Key != tc.shareKey || r.Policy != tc.pol {
				t.Fatalf("pool %q share %q policy %v", r.Pool, r.Sharing.Key, r.Policy)
			}
			if len(r.Families) != len(tc.fams) {
				t.Fatalf("families %v, want %v", r.Families, tc.fams)
			}
			for i := range tc.fams {
				if r.Families[i] != tc.fams[i] {
					t.Fatalf("families %v, want %v", r.Families, tc.fams)
				}
			}
		})
	}
}

func TestSharingCompat(t *testing.T) {
	local := func(s *corev1.Service) {
		s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
		s.Spec.Selector = map[string]string{"b": "2", "a": "1"}
	}
	r1, _ := Request(svc(nil, local))
	r2, _ := Request(svc(nil))
	if r1.Sharing.Compat != "Local:a=1,b=2" || r2.Sharing.Compat != "Cluster" {
		t.Fatalf("compat %q %q", r1.Sharing.Compat, r2.Sharing.Compat)
	}
}

func TestHandles(t *testing.T) {
	cls := "example.com/other"
	if !Handles(svc(nil), "") || Handles(svc(nil), cls) {
		t.Fatal("classless Service")
	}
	withClass := svc(nil, func(s *corev1.Service) { s.Spec.LoadBalancerClass = &cls })
	if Handles(withClass, "") || !Handles(withClass, cls) {
		t.Fatal("Service with a class")
	}
	if Handles(svc(nil, func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }), "") {
		t.Fatal("NodePort handled")
	}
}

func FuzzParseIPList(f *testing.F) {
	for _, s := range []string{"198.18.0.1", "198.18.0.1,2001:db8::1", " 2001:db8::1 ", "x", ",", "::ffff:198.18.0.1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ips, err := ParseIPList(s)
		if err != nil {
			return
		}
		if len(ips) == 0 || len(ips) > 2 {
			t.Fatalf("%q gave %v", s, ips)
		}
		if len(ips) == 2 && ips[0].Is4() == ips[1].Is4() {
			t.Fatalf("%q gave two of one family: %v", s, ips)
		}
		// Round trip: the canonical form parses to the same list.
		parts := make([]string, len(ips))
		for i, a := range ips {
			parts[i] = a.String()
		}
		again, err := ParseIPList(strings.Join(parts, ","))
		if err != nil || len(again) != len(ips) {
			t.Fatalf("round trip of %v: %v %v", ips, again, err)
		}
	})
}
