package lbspec

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Annotation keys. Each is read under the current "metallb.io/" prefix and,
// when absent there, under MetalLB's older "metallb.universe.tf/" prefix,
// so Services written for either keep working.
const (
	Prefix       = "metallb.io/"
	LegacyPrefix = "metallb.universe.tf/"

	KeyLoadBalancerIPs   = "loadBalancerIPs"
	KeyAddressPool       = "address-pool"
	KeyAllowSharedIP     = "allow-shared-ip"
	KeyAllocatedFromPool = "ip-allocated-from-pool"
)

// Annotation returns the value of key under either prefix, preferring the
// current one, and the full annotation name it was found under.
func Annotation(svc *corev1.Service, key string) (value, name string, ok bool) {
	for _, p := range []string{Prefix, LegacyPrefix} {
		if v, found := svc.Annotations[p+key]; found {
			return v, p + key, true
		}
	}
	return "", "", false
}

// ParseIPList parses a comma-separated list of addresses, as in
// metallb.io/loadBalancerIPs: at most one per family, no duplicates.
func ParseIPList(s string) ([]netip.Addr, error) {
	var out []netip.Addr
	seen := map[bool]netip.Addr{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			return nil, fmt.Errorf("empty entry in address list %q", s)
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address", f)
		}
		if a.Zone() != "" {
			return nil, fmt.Errorf("%q: zoned addresses are not allowed", f)
		}
		a = a.Unmap()
		if prev, dup := seen[a.Is4()]; dup {
			return nil, fmt.Errorf("%s and %s are of the same family: give at most one IPv4 and one IPv6 address", prev, a)
		}
		seen[a.Is4()] = a
		out = append(out, a)
	}
	return out, nil
}

// PoolsInUse names the pools that handled Services' addresses were
// allocated from, as the controller recorded them in the
// ip-allocated-from-pool annotation. The controller and every speaker feed
// it to config.Build (Input.InUse), so when two overlapping pools tie on
// creation time all of them keep the same one: the pool that holds the
// addresses.
func PoolsInUse(svcs []corev1.Service, lbClass string) map[string]bool {
	out := map[string]bool{}
	for i := range svcs {
		if pool := AllocatedPool(&svcs[i], lbClass); pool != "" {
			out[pool] = true
		}
	}
	return out
}

// AllocatedPool is the pool svc's addresses came from, per its
// metallb.io/ip-allocated-from-pool annotation, when svc is this
// class's; "" otherwise.
func AllocatedPool(svc *corev1.Service, lbClass string) string {
	if !Handles(svc, lbClass) {
		return ""
	}
	pool, _, _ := Annotation(svc, KeyAllocatedFromPool)
	return pool
}
