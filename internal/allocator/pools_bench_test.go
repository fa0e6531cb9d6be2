package allocator_test

import (
	"fmt"
	"net/netip"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/addr"
	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/internal/config"
)

// BenchmarkScaleAssignPools is a backlog of 10,000 Services spread over
// n tenants, each with a pool of its own restricted to its namespaces by
// a namespaceSelector (team=<tenant>) with its own priority, plus one
// open pool of last resort: the controller's pool choice (config's
// selectors, evaluated per pool as the allocator asks) and assignment
// together, per Service. The bar: throughput must not degrade
// with the number of pools.
func BenchmarkScaleAssignPools(b *testing.B) {
	const services = 10000
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("pools=%d/services=%d", n, services), func(b *testing.B) {
			cfg, pools := tenantPools(b, n, services)
			type pending struct {
				req      allocator.Request
				ns       string
				nsLabels map[string]string
			}
			reqs := make([]pending, services)
			for i := range reqs {
				t := fmt.Sprintf("t%d", i%n)
				reqs[i] = pending{ns: t, nsLabels: map[string]string{"team": t},
					req: allocator.Request{Key: fmt.Sprintf("%s/svc-%d", t, i), Families: []addr.Family{addr.IPv4}, Policy: allocator.SingleStack}}
			}
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer() // the configuration is set once per controller start, not per Service
				a := allocator.New()
				if err := a.SetPools(pools); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				for _, p := range reqs {
					r := p.req
					r.Allowed = func(name string) bool {
						pool := cfg.Pools[name]
						return pool != nil && pool.AllowsService(p.ns, p.nsLabels, nil)
					}
					res, err := a.Assign(r)
					if err != nil {
						b.Fatal(err)
					}
					if res.Pool != "pool-"+p.ns {
						b.Fatalf("%s got %s, want its tenant's pool", r.Key, res.Pool)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*services), "ns/service")
		})
	}
}

// tenantPools builds, through config.Build as the controller does, n
// tenant pools large enough for services/n addresses each and the open
// pool, and the allocator's view of them.
func tenantPools(b *testing.B, n, services int) (*config.Config, []allocator.Pool) {
	per := services/n + 2
	bits := 32
	for 1<<(32-bits) < per+2 {
		bits--
	}
	base := netip.MustParseAddr("198.18.0.0").As4()
	start := uint32(base[0])<<24 | uint32(base[1])<<16
	var in config.Input
	for i := range n {
		lo := start + uint32(i)<<(32-bits)
		p := netip.AddrFrom4([4]byte{byte(lo >> 24), byte(lo >> 16), byte(lo >> 8), byte(lo)})
		in.Pools = append(in.Pools, v1beta1.IPAddressPool{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("pool-t%d", i)},
			Spec: v1beta1.IPAddressPoolSpec{
				Addresses: []v1beta1.AddressRange{v1beta1.AddressRange(netip.PrefixFrom(p, bits).String())},
				AllocateTo: &v1beta1.ServiceAllocation{Priority: i + 1,
					NamespaceSelectors: []metav1.LabelSelector{{MatchLabels: map[string]string{"team": fmt.Sprintf("t%d", i)}}}},
			},
		})
	}
	in.Pools = append(in.Pools, v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Name: "open"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.19.0.0/24"}}})
	cfg, problems := config.Build(in)
	if len(problems) > 0 {
		b.Fatalf("configuration: %v", problems)
	}
	var out []allocator.Pool
	for _, p := range cfg.Pools {
		out = append(out, allocator.Pool{Name: p.Name, Ranges: p.Ranges, AutoAssign: p.AutoAssign, Priority: p.Priority, Restricted: p.Restricted()})
	}
	return cfg, out
}
