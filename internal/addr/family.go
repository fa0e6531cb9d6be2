package addr

import (
	"net/netip"
	"strconv"
)

// Family is an IP address family. The zero value is not a family, so a
// forgotten field is never silently taken for IPv4.
type Family int

const (
	// IPv4 is the IPv4 address family.
	IPv4 Family = 4
	// IPv6 is the IPv6 address family.
	IPv6 Family = 6
)

// String returns "IPv4", "IPv6", or "Family(n)" for anything else.
func (f Family) String() string {
	switch f {
	case IPv4:
		return "IPv4"
	case IPv6:
		return "IPv6"
	}
	return "Family(" + strconv.Itoa(int(f)) + ")"
}

// Bits is the address length in bits: 32 for IPv4, 128 for IPv6, 0 otherwise.
func (f Family) Bits() int {
	switch f {
	case IPv4:
		return 32
	case IPv6:
		return 128
	}
	return 0
}

// FamilyOf reports the family of a. An IPv4-mapped IPv6 address is IPv6
// (it is written as IPv6); an invalid address has family 0.
func FamilyOf(a netip.Addr) Family {
	switch {
	case a.Is4():
		return IPv4
	case a.Is6():
		return IPv6
	}
	return 0
}
