// Package addr parses and does arithmetic on IP address ranges, as written
// in IPAddressPool.spec.addresses: a CIDR ("198.18.0.0/24"), a dash range
// ("198.18.0.1-198.18.0.9") or a single address.
//
// It is built on net/netip only, so the config package and the allocator
// can share one notion of a range without either importing the other.
// Ranges never hold zoned or IPv4-mapped IPv6 endpoints: the parser
// rejects them, so an IPv4 address has exactly one spelling everywhere.
package addr
