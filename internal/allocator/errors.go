package allocator

import "errors"

// Sentinel errors. Every error from Assign, Restore and SetPools wraps one
// of these (test with errors.Is) and adds the detail a user needs: which
// pools were tried, which Service holds the address and why it cannot be
// shared.
var (
	// ErrExhausted: the pools that could serve the request have no free
	// address of a needed family.
	ErrExhausted = errors.New("no free address")
	// ErrNoPoolAllowed: no pool both selects this Service and (for automatic
	// allocation) has autoAssign enabled, or the pool of a requested IP or
	// the named pool does not select this Service.
	ErrNoPoolAllowed = errors.New("no address pool allowed for this service")
	// ErrNotInPool: a requested IP lies in no pool (or in a pool that will
	// not hand it out, or not in the named pool).
	ErrNotInPool = errors.New("requested IP not in any address pool")
	// ErrInUse: the IP is held by another Service and one of the two does
	// not allow sharing.
	ErrInUse = errors.New("IP already in use")
	// ErrSharingConflict: both Services allow sharing but cannot share this
	// IP: different sharing keys, a port used by both, or different
	// traffic policy or selector.
	ErrSharingConflict = errors.New("IP cannot be shared")
	// ErrFamilyNotAvailable: no allowed pool has ranges of the families the
	// request needs (for example RequireDualStack and no dual-stack pool).
	ErrFamilyNotAvailable = errors.New("IP family not available")
	// ErrUnknownPool: the Service names a pool that does not exist.
	ErrUnknownPool = errors.New("unknown address pool")
	// ErrIPsSpanPools: the requested IPs lie in different pools; all IPs of
	// one Service must come from one pool.
	ErrIPsSpanPools = errors.New("requested IPs are in different address pools")
	// ErrInvalidRequest: the request itself is malformed (empty key, bad or
	// duplicate IPs, families that contradict the requested IPs).
	ErrInvalidRequest = errors.New("invalid allocation request")
	// ErrInvalidPools: SetPools was given an invalid configuration
	// (duplicate names, overlapping ranges, negative priority).
	ErrInvalidPools = errors.New("invalid address pools")
)
