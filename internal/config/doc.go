// Package config turns barelb's custom resources into one validated model.
//
// Build is a pure function: given every IPAddressPool, L2Advertisement,
// BGPAdvertisement, BGPPeer, Community and BFDProfile it returns the model
// the controller and speakers act on, plus every problem found, each naming
// the objects involved. A bad object is left out of the model (or, for a
// conflict between two objects, the newer one is), and everything else
// stays in: a new mistake never takes down addresses that already work.
// An object that could not even be decoded (Input.Unreadable, from
// kube.ListConfig) is reported the same way and is in none of the lists,
// so an object that was good and is then stored undecodable is left out
// as an invalid edit is: the controller keeps the addresses already
// assigned from it, and the speakers stop announcing what only it
// covered, until it is fixed.
//
// # Cost
//
// Build is O(R log R + k log R) for the pools' R ranges and k overlaps
// reported (every range sorted once; a Fenwick tree over the sorted ranges
// finds those of older kept pools that a range overlaps, see takenIndex),
// plus O(r²) per pool for its own r ranges, plus O(A·p) to resolve A
// advertisements' p pool references and selectors. Measured by
// BenchmarkScaleBuild (make bench-scale) on a 2-core machine shared with
// other work: 5,000 pools (two ranges, one L2 and one BGP advertisement
// each) in 43 ms, 1,000 in 9.4 ms; the pairwise overlap check it replaced
// took 1.04 s and 45 ms.
package config
