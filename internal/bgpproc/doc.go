// Package bgpproc runs a node's BGP server in a process of its own and
// gives the speaker the same calls on it: SetAdvertisements, SetPeers,
// PeerStates and Shutdown, level-based as internal/bgp documents them,
// plus the server's metrics for the speaker's /metrics.
//
// Why a process: GoBGP brings gRPC, its protobuf descriptors and its
// configuration libraries, and a Go binary that links them pages in their
// code and tables at start whether or not a BGPPeer ever selects the node
// (about 4 MB of binary and several MiB of resident memory on every node;
// README "Sizing"). The speaker links this package, which imports no
// GoBGP; cmd/speaker-bgp links internal/bgp and is started only when the
// node's first BGPPeer appears. A layer 2 speaker never starts it.
//
// The wire: net/rpc with gob over a unix socket pair, the child's end as
// its file descriptor 3. Values are bgpmodel's; errors keep their
// per-object keys (bgpmodel.PeerErrors, AdvertisementErrors) and the
// sentinels errors.Is finds in them (bgpmodel.Sentinels); metrics travel
// as Prometheus' delimited protobuf. A call costs a round trip over the
// socket (tens of microseconds) and a gob encoding of its values: the
// speaker's calls come once per BGP pass and every 2 s for PeerStates.
//
// Lifetimes: the child serves until Shutdown, or until its socket closes,
// which is what happens when the speaker dies in any way: it then exits
// at once, its sessions ending as they did when GoBGP ran inside the
// speaker (TCP closed by the kernel; routers keep the routes of graceful
// restart sessions). It ignores SIGINT and SIGTERM: the speaker decides
// when BGP stops, after it has withdrawn what it must. If the child dies
// first, its calls fail until the next SetAdvertisements or SetPeers,
// which start a new child with the same options; the speaker's next pass
// gives it the whole state again (Config.OnExit asks for that pass).
//
// Memory: the two processes share the container's limit, so a soft limit
// set for the speaker (GOMEMLIMIT) is split at the first start, a third
// for the BGP process (see shareMemoryLimit). In BGP mode a node runs two
// Go runtimes: about 67 MiB together at 1,000 routes, where the speaker
// with GoBGP inside took 56-60 (README "Sizing").
package bgpproc
