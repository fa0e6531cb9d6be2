package allocator

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/barelb/barelb/internal/addr"
)

// FamilyPolicy mirrors Service.spec.ipFamilyPolicy. The zero value is
// SingleStack, Kubernetes' default.
type FamilyPolicy int

const (
	// SingleStack: exactly one IP, of the first listed family.
	SingleStack FamilyPolicy = iota
	// PreferDualStack: one IP of each listed family if a pool can give
	// them all, otherwise as many as the first pool able to give at least
	// one can.
	PreferDualStack
	// RequireDualStack: one IP of each listed family, or fail.
	RequireDualStack
)

func (p FamilyPolicy) String() string {
	switch p {
	case SingleStack:
		return "SingleStack"
	case PreferDualStack:
		return "PreferDualStack"
	case RequireDualStack:
		return "RequireDualStack"
	}
	return fmt.Sprintf("FamilyPolicy(%d)", int(p))
}

// Request asks for the LoadBalancer IPs of one Service.
type Request struct {
	// Key identifies the Service, "namespace/name".
	Key string
	// Families are the wanted families in order (spec.ipFamilies). When
	// IPs is set it may be empty: the families are those of the IPs.
	Families []addr.Family
	// Policy is spec.ipFamilyPolicy.
	Policy FamilyPolicy
	// IPs are explicitly requested addresses (metallb.io/loadBalancerIPs or
	// spec.loadBalancerIP), at most one per family. They must all lie in
	// one pool; that pool's autoAssign does not matter.
	IPs []netip.Addr
	// Pool is a pool name from metallb.io/address-pool; autoAssign of that
	// pool does not matter. Empty means any pool.
	Pool string
	// Allowed tells whether a pool's namespace and service selectors admit
	// this Service. Nil admits every pool. It is called under the
	// allocator's lock and must not call back into it.
	Allowed func(pool string) bool
	// Sharing says with whom this Service may share an IP.
	Sharing Sharing
}

// Result is the assignment of one Service.
type Result struct {
	// Pool is the pool every IP came from (for metallb.io/ip-allocated-from-pool).
	// It is empty for a restored assignment whose IPs are in no pool, or
	// in different pools, any more.
	Pool string
	// IPs in the order of the request's families (or requested IPs).
	IPs []netip.Addr
}

func (r *Request) allowed(p *pool) bool { return r.Allowed == nil || r.Allowed(p.Name) }

// checkIPs validates addresses given by callers: valid, unzoned, not
// IPv4-mapped, no duplicates, at most one per family.
func checkIPs(ips []netip.Addr) error {
	var seen [2]netip.Addr
	for _, ip := range ips {
		if !ip.IsValid() || ip.Zone() != "" || ip.Is4In6() {
			return fmt.Errorf("%w: %q is not a plain IPv4 or IPv6 address", ErrInvalidRequest, ip.String())
		}
		fi := famIndex(addr.FamilyOf(ip))
		if seen[fi].IsValid() {
			return fmt.Errorf("%w: %s and %s are both %v; at most one address per family", ErrInvalidRequest, seen[fi], ip, families[fi])
		}
		seen[fi] = ip
	}
	return nil
}

// normalize validates r and returns the families to allocate, in order.
func (r *Request) normalize() ([]addr.Family, error) {
	if r.Key == "" {
		return nil, fmt.Errorf("%w: empty service key", ErrInvalidRequest)
	}
	if r.Policy < SingleStack || r.Policy > RequireDualStack {
		return nil, fmt.Errorf("%w: unknown family policy %v", ErrInvalidRequest, r.Policy)
	}
	for i, f := range r.Families {
		if f != addr.IPv4 && f != addr.IPv6 {
			return nil, fmt.Errorf("%w: unknown IP family %v", ErrInvalidRequest, f)
		}
		if slices.Contains(r.Families[:i], f) {
			return nil, fmt.Errorf("%w: IP family %v listed twice", ErrInvalidRequest, f)
		}
	}
	if len(r.IPs) == 0 {
		if len(r.Families) == 0 {
			return nil, fmt.Errorf("%w: no IP family requested", ErrInvalidRequest)
		}
		if r.Policy == SingleStack {
			return r.Families[:1], nil
		}
		return r.Families, nil
	}
	if err := checkIPs(r.IPs); err != nil {
		return nil, err
	}
	fams := make([]addr.Family, len(r.IPs))
	for i, ip := range r.IPs {
		fams[i] = addr.FamilyOf(ip)
	}
	if len(r.Families) == 0 {
		return fams, nil
	}
	// The requested IPs must agree with the Service's families and policy.
	for _, f := range fams {
		if !slices.Contains(r.Families, f) || (r.Policy == SingleStack && f != r.Families[0]) {
			return nil, fmt.Errorf("%w: requested IPs %v include %v, but the service's families are %v (%v)", ErrInvalidRequest, r.IPs, f, r.Families, r.Policy)
		}
	}
	if r.Policy == RequireDualStack && len(fams) != len(r.Families) {
		return nil, fmt.Errorf("%w: requested IPs %v do not cover the families %v required by RequireDualStack", ErrInvalidRequest, r.IPs, r.Families)
	}
	return fams, nil
}

// orderIPs returns ips ordered like fams (used to report a satisfied
// assignment in the order the request lists its families).
func orderIPs(ips []netip.Addr, fams []addr.Family) []netip.Addr {
	out := slices.Clone(ips)
	pos := func(ip netip.Addr) int {
		if i := slices.Index(fams, addr.FamilyOf(ip)); i >= 0 {
			return i
		}
		return len(fams)
	}
	slices.SortStableFunc(out, func(a, b netip.Addr) int { return pos(a) - pos(b) })
	return out
}
