// Package explain decides what `kubectl barelb` says: why a Service has or
// lacks addresses, which node announces each one and why the others do
// not, how full the pools are, what each speaker reports and what is wrong
// with an install. It is pure: the command lists the objects into a
// Cluster and prints the reports; nothing here talks to an API server.
//
// The words come from the components: the controller's
// barelb.io/AddressAssigned condition on the Service, the speakers'
// ConfigurationStates (per-IP layer 2 and BGP verdicts, BGP sessions,
// memberlist views), ServiceL2Status and ServiceBGPStatus objects, and
// Events. A speaker's BGP verdict on an IP wins over its ServiceBGPStatus
// (it knows which sessions are established); the status object stands in
// for a speaker that lists none. The IPs that moved recently come from
// the speakers' nodeAssigned Events (moves.go says why Events). Where a
// component said nothing, explain recomputes with the same pure packages
// (internal/config, internal/allocator, internal/lbspec) from the
// objects, so the per-pool verdicts agree with what the controller would
// decide. Cost: one pass over the listed objects per report; the pool
// verdicts replay every Service's addresses into an allocator once, then
// try the asked-about Service against each pool (pools × one Assign).
package explain
