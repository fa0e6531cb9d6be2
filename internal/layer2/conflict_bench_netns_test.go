package layer2

import (
	"testing"
	"time"
)

// BenchmarkConflictDetection measures, on a namespace LAN with a rogue
// host holding both test addresses, how long conflict detection takes:
//
//   - detect: SetAnnounced until both addresses are reported in conflict
//     (the rogue's kernel answers the first probe, so this is well under
//     Conflicts.Wait, which every takeover costs whether or not anyone
//     answers);
//   - release: the rogue lets go until the node announces both again
//     (Release periodic probes in a row unanswered: at most
//     Release×Interval plus one Interval of phase, here 3×100ms).
func BenchmarkConflictDetection(b *testing.B) {
	const interval = 100 * time.Millisecond
	l := newLAN(b, 1, detect(interval))
	n := l.nodes[0]
	r, rmac := l.addRogue(b)
	rogueTakes(b, r)

	b.Run("detect", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			start := time.Now()
			n.announce(ipV4, ipV6)
			for len(n.a.Conflicts()) < 2 {
				time.Sleep(time.Millisecond) // polling what is measured, 1 ms resolution
			}
			total += time.Since(start)
			n.announce()
		}
		b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/detection")
	})
	b.Run("release", func(b *testing.B) {
		var total time.Duration
		n.announce(ipV4, ipV6)
		n.waitConflicts(b, ForeignHost, rmac)
		for i := 0; i < b.N; i++ {
			start := time.Now()
			rogueLeaves(b, r)
			for len(n.a.Conflicts()) > 0 {
				time.Sleep(time.Millisecond)
			}
			total += time.Since(start)
			rogueTakes(b, r)
			n.waitConflicts(b, ForeignHost, rmac)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/release")
		b.ReportMetric(float64((time.Duration(n.a.opts.Conflicts.Release) * interval).Milliseconds()), "ms-Release×Interval")
	})
}
