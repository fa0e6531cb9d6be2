package allocator

import (
	"math/bits"
	"net/netip"
)

// count is an exact 128-bit number of addresses. Pool sizes of IPv6 pools
// do not fit in 64 bits, and a saturated counter cannot be decremented
// correctly, so counters are exact and saturate only when reported.
type count struct{ hi, lo uint64 }

func (c count) add(d count) count {
	lo, carry := bits.Add64(c.lo, d.lo, 0)
	hi, _ := bits.Add64(c.hi, d.hi, carry)
	return count{hi, lo}
}

func (c count) sub(d count) count {
	lo, borrow := bits.Sub64(c.lo, d.lo, 0)
	hi, _ := bits.Sub64(c.hi, d.hi, borrow)
	return count{hi, lo}
}

func (c count) isZero() bool { return c.hi == 0 && c.lo == 0 }

// uint64 returns c, saturating at math.MaxUint64.
func (c count) uint64() uint64 {
	if c.hi != 0 {
		return ^uint64(0)
	}
	return c.lo
}

func addrCount(a netip.Addr) count {
	b := a.As16()
	var c count
	for i := 0; i < 8; i++ {
		c.hi = c.hi<<8 | uint64(b[i])
		c.lo = c.lo<<8 | uint64(b[8+i])
	}
	return c
}

// span is the number of addresses in [first, last], first <= last.
func span(first, last netip.Addr) count {
	return addrCount(last).sub(addrCount(first)).add(count{lo: 1})
}

// isBuggy reports whether a is an IPv4 address ending in .0 or .255, which
// some old client firmware treats as a network or broadcast address
// (MetalLB's avoidBuggyIPs).
func isBuggy(a netip.Addr) bool {
	if !a.Is4() {
		return false
	}
	b := a.As4()
	return b[3] == 0 || b[3] == 255
}

// buggyIn counts the IPv4 addresses ending in .0 or .255 in [first, last].
func buggyIn(first, last netip.Addr) uint64 {
	f4, l4 := first.As4(), last.As4()
	f := uint64(f4[0])<<24 | uint64(f4[1])<<16 | uint64(f4[2])<<8 | uint64(f4[3])
	l := uint64(l4[0])<<24 | uint64(l4[1])<<16 | uint64(l4[2])<<8 | uint64(l4[3])
	// upTo(n, r) counts x in [0, n) with x%256 == r.
	upTo := func(n, r uint64) uint64 {
		c := n / 256
		if n%256 > r {
			c++
		}
		return c
	}
	return upTo(l+1, 0) - upTo(f, 0) + upTo(l+1, 255) - upTo(f, 255)
}
