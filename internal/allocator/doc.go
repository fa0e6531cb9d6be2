// Package allocator hands out LoadBalancer IPs from address pools, with
// MetalLB's semantics: restricted pools that admit a Service before open
// ones, then pool priority and autoAssign, avoidBuggyIPs,
// requested IPs and named pools, dual-stack from a single pool, and IP
// sharing between compatible Services.
//
// It is pure: no Kubernetes types, no I/O. The controller turns a Service
// into a Request (it evaluates namespace and service selectors itself and
// passes the verdict as Request.Allowed), calls Assign, and writes the
// Result to Service status; every error wraps one of the Err* sentinels so
// the controller can turn it into an Event reason.
//
// # Complexity
//
// Free space is kept per pool and family as disjoint free intervals in a
// treap ordered by address, never as a list of addresses, so an IPv6 /48
// costs the same as a /30 and the cost of an allocation does not grow with
// the number of addresses already taken. With P pools, R ranges over all
// pools, I free intervals in one pool and family (I grows only with
// fragmentation from releases, never with allocations from the low end),
// H held addresses in total and K addresses held under one sharing key:
//
//	Assign, new address        O(P log I) worst, O(P + log I) when earlier pools are full;
//	                           plus O(K) when a sharing key is set
//	Assign, requested IPs      O(log R + log I) per IP
//	Assign, already satisfied  O(1) per IP held, plus the Service's ports
//	Release                    O(log I) per IP
//	Restore                    O(log R + log I) per IP
//	SetPools                   O(R log R + H (log R + log I))
//	Owners, Assignment         O(1) plus the size of the answer
//	Stats                      O(P)
//	OutOfPool                  O(H + h log h), h the out-of-pool IPs
package allocator
