// Package bgpmodel holds barelb's BGP values: a session to keep up
// (Peer), a prefix to announce (Advertisement), communities, aggregation,
// and which session receives which prefix. internal/config builds them
// from the API objects, internal/bgpplan decides them per node, and
// internal/bgp, the only package that imports GoBGP, runs them. The
// package is a leaf: no GoBGP, no gRPC, no Kubernetes client.
package bgpmodel
