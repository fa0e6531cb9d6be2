// Package lbspec reads what a Service asks of barelb: which addresses,
// from which pool, shared with whom, of which IP families. It is pure
// (Service objects in, allocator requests out) so every rule is
// table-tested and fuzzed without an API server.
package lbspec
