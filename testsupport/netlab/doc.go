// Package netlab builds throwaway network labs out of Linux network
// namespaces, veth pairs and bridges for barelb's tests, benchmarks and demo.
//
// Every object a Lab makes carries the lab's short random tag in its name, so
// test packages running in parallel never collide, and Close removes all of
// it (processes first, then namespaces and host-side links) on every exit
// path. Labs may only use the documentation ranges 198.18.0.0/15 and
// 2001:db8::/32 (see AllowedPrefix) and never route towards the host's own
// interfaces: a Lab adds no routes, NAT or forwarding in the host namespace.
package netlab
