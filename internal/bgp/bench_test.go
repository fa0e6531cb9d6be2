package bgp

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// BenchmarkFRRConvergence measures, against FRR, how long routes take to
// reach the router's kernel FIB (the last stop: after bgpd's RIB and
// zebra), timed by a netlink subscription in the router namespace:
//
//   - announce / withdraw latency of a single prefix from one speaker,
//     from the start of SetAdvertisements to the kernel route appearing
//     or disappearing, p50 and p99 over 60 prefixes in turn;
//   - 1,000 prefixes from three speakers at once: time until every
//     prefix is installed with all three next hops, and until all are
//     gone after withdrawing them.
//
// It sets up a lab, so run it once:
//
//	go test ./internal/bgp -run '^$' -bench FRRConvergence -benchtime 1x
func BenchmarkFRRConvergence(b *testing.B) {
	tp := newTopo(b, 3, routerConf(3))
	w := watchRoutes(b, tp.rtr)
	var sps []*speaker
	for i, ns := range tp.nodes {
		sp := startSpeaker(b, ns, Options{RouterID: nodeV4(i)})
		if errs := sp.SetPeers(nodePeer(i)); len(errs) > 0 {
			b.Fatal(errs)
		}
		sps = append(sps, sp)
	}
	for _, sp := range sps {
		waitEstablished(b, sp, "tor")
	}
	b.ResetTimer()

	const n = 60
	var ann, wd []time.Duration
	for i := range n {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 19, 10, byte(i)}), 32)
		r := sps[0].SetAds(bgpmodel.Advertisement{Name: "svc", Prefix: p})
		at, err := w.wait(10*time.Second, func(m map[netip.Prefix]routeSeen) bool { _, ok := m[p]; return ok })
		if err != nil {
			b.Fatalf("announce %s: %v", p, err)
		}
		ann = append(ann, at.Sub(r.Start))
		r = sps[0].SetAds()
		at, err = w.wait(10*time.Second, func(m map[netip.Prefix]routeSeen) bool { _, ok := m[p]; return !ok })
		if err != nil {
			b.Fatalf("withdraw %s: %v", p, err)
		}
		wd = append(wd, at.Sub(r.Start))
	}

	const bulk = 1000
	var ads []bgpmodel.Advertisement
	for i := range bulk {
		a := netip.AddrFrom4([4]byte{198, 19, 16 + byte(i/256), byte(i % 256)})
		ads = append(ads, bgpmodel.Advertisement{Name: a.String(), Prefix: netip.PrefixFrom(a, 32)})
	}
	inBulk := func(p netip.Prefix) bool { return p.Addr().Is4() && p.Addr().As4()[2] >= 16 && p.Addr().As4()[2] < 20 }
	countBulk := func(m map[netip.Prefix]routeSeen, minNexthops int) int {
		c := 0
		for p, r := range m {
			if inBulk(p) && r.nexthops >= minNexthops {
				c++
			}
		}
		return c
	}
	start := time.Now()
	var wg sync.WaitGroup
	for _, sp := range sps {
		wg.Go(func() { sp.SetAds(ads...) })
	}
	firstAll, err := w.wait(60*time.Second, func(m map[netip.Prefix]routeSeen) bool { return countBulk(m, 1) == bulk })
	if err != nil {
		b.Fatal(err)
	}
	allECMP, err := w.wait(60*time.Second, func(m map[netip.Prefix]routeSeen) bool { return countBulk(m, 3) == bulk })
	if err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	start2 := time.Now()
	for _, sp := range sps {
		wg.Go(func() { sp.SetAds() })
	}
	gone, err := w.wait(60*time.Second, func(m map[netip.Prefix]routeSeen) bool { return countBulk(m, 1) == 0 })
	if err != nil {
		b.Fatal(err)
	}
	wg.Wait()
	b.StopTimer()

	ap50, ap99 := reportPercentiles(b, "announce", ann)
	wp50, wp99 := reportPercentiles(b, "withdraw", wd)
	b.ReportMetric(ms(allECMP.Sub(start)), "bulk1000x3-ms")
	b.ReportMetric(ms(gone.Sub(start2)), "bulk-withdraw-ms")
	fmt.Printf("BGP -> FRR kernel FIB, single prefix from one speaker, %d samples:\n", n)
	fmt.Printf("  announce: p50 %v  p99 %v  max %v\n", ap50, ap99, slices.Max(ann))
	fmt.Printf("  withdraw: p50 %v  p99 %v  max %v\n", wp50, wp99, slices.Max(wd))
	fmt.Printf("%d prefixes from 3 speakers at once:\n", bulk)
	fmt.Printf("  all installed (>=1 next hop): %v\n", firstAll.Sub(start).Round(time.Millisecond))
	fmt.Printf("  all installed with 3 next hops: %v\n", allECMP.Sub(start).Round(time.Millisecond))
	fmt.Printf("  all removed after withdrawing: %v\n", gone.Sub(start2).Round(time.Millisecond))
}

// reportPercentiles reports d's p50 and p99 as <name>-p50-ms and
// <name>-p99-ms and returns them.
func reportPercentiles(b *testing.B, name string, d []time.Duration) (p50, p99 time.Duration) {
	p50, p99 = percentile(d, 50), percentile(d, 99)
	b.ReportMetric(ms(p50), name+"-p50-ms")
	b.ReportMetric(ms(p99), name+"-p99-ms")
	return p50, p99
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100 // nearest rank
	return s[max(i-1, 0)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
