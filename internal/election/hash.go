package election

// score is the rendezvous weight of node for key. FNV-1a alone mixes
// similar strings ("198.18.0.1", "198.18.0.2") poorly, so its output goes
// through a 64-bit finalizer with full avalanche; both are fixed
// algorithms, which keeps scores identical across speakers, versions and
// architectures.
func score(node, key string) uint64 {
	h := fnvString(fnvOffset, node)
	h = fnvByte(h, 0)
	return mix(fnvString(h, key))
}

// keyHash fixes the order in which units are placed: a pseudo-random order
// so that no family of keys (say, low addresses) systematically gets the
// first pick of nodes.
func keyHash(key string) uint64 { return mix(fnvString(fnvOffset, key)) }

// FNV-1a, 64 bit, written out to hash strings without allocating; it
// computes exactly what hash/fnv's New64a does.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h = fnvByte(h, s[i])
	}
	return h
}

func fnvByte(h uint64, b byte) uint64 { return (h ^ uint64(b)) * fnvPrime }

// mix is the finalizer of MurmurHash3 (fmix64).
func mix(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}
