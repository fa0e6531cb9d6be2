package election

// All hashes are FNV-1a (64 bit) followed by a 64-bit finalizer with full
// avalanche: FNV-1a alone mixes similar strings ("198.18.0.1",
// "198.18.0.2") poorly. Both are fixed algorithms, which keeps every value
// identical across speakers, versions and architectures; the tests pin
// them, because a change would make speakers of different versions
// disagree during a rolling upgrade.

// replicas is the number of points each node has on the ring. More points
// even out the nodes' shares of the ring (relative spread about
// 1/sqrt(replicas)) at the cost of memory (16 bytes a point) and of the
// time to add or remove a node; the load cap absorbs what is left.
const replicas = 32

// point is the position of a node's i-th replica on the ring.
func point(node string, i int) uint64 {
	h := fnvString(fnvOffset, node)
	h = fnvByte(h, 0)
	h = fnvByte(h, byte(i))
	h = fnvByte(h, byte(i>>8))
	return mix(h)
}

// keyHash is the position of a unit on the ring.
func keyHash(key string) uint64 { return mix(fnvString(fnvOffset, key)) }

// orderHash fixes the order in which units of equal candidate count are
// placed: pseudo-random, so that no family of keys (say, low addresses)
// systematically gets the first pick of nodes, and unrelated to the ring
// position, so that placement does not sweep the ring in one direction.
func orderHash(key string) uint64 { return mix(fnvByte(fnvString(fnvOffset, key), 1)) }

// nodeHash ranks nodes for the leftover capacity (see capacities).
func nodeHash(node string) uint64 { return mix(fnvByte(fnvString(fnvOffset, node), 2)) }

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
