package lbspec

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/allocator"
)

// Handles reports whether barelb, running with --lb-class=class (empty for
// Services without a class), owns svc's addresses.
func Handles(svc *corev1.Service, class string) bool {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return false
	}
	if svc.Spec.LoadBalancerClass == nil {
		return class == ""
	}
	return *svc.Spec.LoadBalancerClass == class
}

// Key is the allocator key of a Service.
func Key(svc *corev1.Service) string { return svc.Namespace + "/" + svc.Name }

// Request builds the allocation request of svc. Allowed (pool selection)
// is left for the caller, which knows the pools and the namespace labels.
// An error means the Service asks for something malformed; its message is
// meant for the Service's owner.
func Request(svc *corev1.Service) (allocator.Request, error) {
	r := allocator.Request{Key: Key(svc)}
	var err error
	if r.IPs, err = requestedIPs(svc); err != nil {
		return r, err
	}
	if v, _, ok := Annotation(svc, KeyAddressPool); ok {
		r.Pool = strings.TrimSpace(v)
	}
	r.Families, r.Policy = families(svc)
	if len(r.IPs) > 0 {
		// The requested addresses decide the families; a family the
		// Service does not have would never be reachable.
		for _, ip := range r.IPs {
			if len(r.Families) > 0 && !hasFamily(r.Families, addr.FamilyOf(ip)) {
				return r, fmt.Errorf("requested address %s is %s but the Service's ipFamilies are %v", ip, addr.FamilyOf(ip), svc.Spec.IPFamilies)
			}
		}
		r.Families = nil
	}
	r.Sharing = sharing(svc)
	return r, nil
}

func requestedIPs(svc *corev1.Service) ([]netip.Addr, error) {
	v, name, ok := Annotation(svc, KeyLoadBalancerIPs)
	var ips []netip.Addr
	if ok {
		var err error
		if ips, err = ParseIPList(v); err != nil {
			return nil, fmt.Errorf("annotation %s: %v", name, err)
		}
	}
	if lb := strings.TrimSpace(svc.Spec.LoadBalancerIP); lb != "" {
		a, err := netip.ParseAddr(lb)
		if err != nil {
			return nil, fmt.Errorf("spec.loadBalancerIP %q is not an IP address", lb)
		}
		if ok {
			return nil, fmt.Errorf("both spec.loadBalancerIP and annotation %s are set: use only the annotation", name)
		}
		ips = []netip.Addr{a.Unmap()}
	}
	return ips, nil
}

// families maps spec.ipFamilies/ipFamilyPolicy. The API server fills both
// in for every Service; the defaults cover objects built by hand.
func families(svc *corev1.Service) ([]addr.Family, allocator.FamilyPolicy) {
	var fams []addr.Family
	for _, f := range svc.Spec.IPFamilies {
		switch f {
		case corev1.IPv4Protocol:
			fams = append(fams, addr.IPv4)
		case corev1.IPv6Protocol:
			fams = append(fams, addr.IPv6)
		}
	}
	if len(fams) == 0 {
		fams = []addr.Family{addr.IPv4}
	}
	policy := allocator.SingleStack
	if p := svc.Spec.IPFamilyPolicy; p != nil {
		switch *p {
		case corev1.IPFamilyPolicyPreferDualStack:
			policy = allocator.PreferDualStack
		case corev1.IPFamilyPolicyRequireDualStack:
			policy = allocator.RequireDualStack
		}
	}
	if policy == allocator.SingleStack {
		fams = fams[:1]
	} else if len(fams) == 1 {
		// A dual-stack policy on a single-family list: ask for the
		// other family too, in second place, as the seeds describe.
		other := addr.IPv6
		if fams[0] == addr.IPv6 {
			other = addr.IPv4
		}
		fams = append(fams, other)
	}
	return fams, policy
}

func hasFamily(fs []addr.Family, f addr.Family) bool {
	for _, x := range fs {
		if x == f {
			return true
		}
	}
	return false
}

// sharing describes with whom svc may share an address. Two Services can
// share only if one node can announce the IP for both: with Cluster policy
// any node will do; with Local policy they must select the same pods.
func sharing(svc *corev1.Service) allocator.Sharing {
	key, _, _ := Annotation(svc, KeyAllowSharedIP)
	sh := allocator.Sharing{Key: strings.TrimSpace(key)}
	for _, p := range svc.Spec.Ports {
		proto := string(p.Protocol)
		if proto == "" {
			proto = string(corev1.ProtocolTCP)
		}
		sh.Ports = append(sh.Ports, allocator.Port{Protocol: proto, Port: p.Port})
	}
	sh.Compat = "Cluster"
	if svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal {
		sel := make([]string, 0, len(svc.Spec.Selector))
		for k, v := range svc.Spec.Selector {
			sel = append(sel, k+"="+v)
		}
		sort.Strings(sel)
		sh.Compat = "Local:" + strings.Join(sel, ",")
	}
	return sh
}

// IngressIPs returns the addresses in svc.status.loadBalancer.ingress.
func IngressIPs(svc *corev1.Service) []netip.Addr {
	var out []netip.Addr
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if a, err := netip.ParseAddr(in.IP); err == nil {
			out = append(out, a.Unmap())
		}
	}
	return out
}
