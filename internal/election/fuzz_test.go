package election

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

// FuzzAssign decodes arbitrary bytes into units over a pool of eight nodes
// (each byte pair: a key number and a candidate bitmask) and checks the
// invariants, order independence, and the load bound when every unit has
// the same candidates.
func FuzzAssign(f *testing.F) {
	f.Add([]byte{0, 0xff, 1, 0xff, 2, 0xff}, uint64(1))
	f.Add([]byte{0, 0x01, 0, 0x02, 3, 0x00, 9, 0x07, 9, 0x10}, uint64(7))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var in []Unit
		for i := 0; i+1 < len(data); i += 2 {
			u := Unit{Key: fmt.Sprintf("198.18.0.%d", data[i])}
			for n := range 8 {
				if data[i+1]&(1<<n) != 0 {
					u.Candidates = append(u.Candidates, fmt.Sprintf("node-%d", n))
				}
			}
			in = append(in, u)
		}
		got := Assign(in)
		checkInvariants(t, in, got)
		if again := Assign(shuffle(rand.New(rand.NewPCG(seed, 0)), in)); !maps.Equal(got, again) {
			t.Fatalf("input order changed the result:\n%v\n%v", got, again)
		}

		// Same units, every one eligible everywhere: the bound must hold.
		keys := map[string]bool{}
		var uniform []Unit
		for _, u := range in {
			if !keys[u.Key] {
				keys[u.Key] = true
				uniform = append(uniform, Unit{Key: u.Key, Candidates: []string{"node-0", "node-1", "node-2"}})
			}
		}
		limit := capacity(len(uniform), 3)
		for node, n := range loads(Assign(uniform)) {
			if n > limit {
				t.Fatalf("%s has %d of %d units, capacity %d", node, n, len(uniform), limit)
			}
		}
	})
}
