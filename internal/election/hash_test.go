package election

import (
	"hash/fnv"
	"testing"
)

// The hand-written FNV must equal the standard library's, and the scores
// are pinned: a change here would make speakers of different versions
// disagree during a rolling upgrade.
func TestHashIsStable(t *testing.T) {
	for _, s := range []string{"", "198.18.0.1", "2001:db8::1", "node-a\x00198.18.0.1"} {
		h := fnv.New64a()
		h.Write([]byte(s))
		if got, want := fnvString(fnvOffset, s), h.Sum64(); got != want {
			t.Errorf("fnvString(%q) = %x, want %x", s, got, want)
		}
	}
	if got, want := score("node-a", "198.18.0.1"), mix(fnvString(fnvOffset, "node-a\x00198.18.0.1")); got != want {
		t.Errorf("score = %x, want %x", got, want)
	}
	for k, want := range map[[2]string]uint64{
		{"node-a", "198.18.0.1"}:  0x936e4eee1b7c9d5b,
		{"node-b", "2001:db8::1"}: 0xdc65e0345ee78e1a,
	} {
		if got := score(k[0], k[1]); got != want {
			t.Errorf("score(%q, %q) = %#x, want %#x", k[0], k[1], got, want)
		}
	}
}
