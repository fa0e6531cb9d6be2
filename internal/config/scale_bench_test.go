package config_test

import (
	"fmt"
	"testing"

	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/testsupport/scale"
)

// BenchmarkScaleBuild validates a configuration of n pools, each with its
// own L2Advertisement and BGPAdvertisement selecting one rack: what every
// controller and speaker runs on each configuration change.
func BenchmarkScaleBuild(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 5000} {
		b.Run(fmt.Sprintf("pools=%d", n), func(b *testing.B) {
			in := scale.ManyPools(n)
			b.ReportAllocs()
			for b.Loop() {
				if _, ps := config.Build(in); len(ps) > 0 {
					b.Fatal(ps)
				}
			}
		})
	}
}
