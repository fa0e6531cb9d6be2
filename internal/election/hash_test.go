package election

import (
	"hash/fnv"
	"testing"
)

// The hand-written FNV must equal the standard library's, and the hashes
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
	// A point hashes the name, a zero byte and the replica number (little
	// endian, two bytes).
	if got, want := point("node-b", 258), mix(fnvString(fnvOffset, "node-b\x00\x02\x01")); got != want {
		t.Errorf("point = %x, want %x", got, want)
	}
	for name, got := range map[string]uint64{
		"point(node-a, 0)":       point("node-a", 0),
		"point(node-b, 31)":      point("node-b", 31),
		"keyHash(198.18.0.1)":    keyHash("198.18.0.1"),
		"orderHash(2001:db8::1)": orderHash("2001:db8::1"),
		"nodeHash(node-a)":       nodeHash("node-a"),
	} {
		if want := pinned[name]; got != want {
			t.Errorf("%s = %#x, want %#x", name, got, want)
		}
	}
}

var pinned = map[string]uint64{
	"point(node-a, 0)":       0x7eb2aa4775534b17,
	"point(node-b, 31)":      0x8f11fd9d65397beb,
	"keyHash(198.18.0.1)":    0x42d1089d71b3a73f,
	"orderHash(2001:db8::1)": 0x9f971abd1a45174c,
	"nodeHash(node-a)":       0xcb7111351667e36d,
}
