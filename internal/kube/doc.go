// Package kube holds the Kubernetes plumbing both barelb binaries share,
// so each rule exists once: the Scheme, the configuration read (ListConfig:
// the metallb.io kinds listed unstructured and decoded one object at a
// time, so one stored object that does not decode is named and left out
// instead of stalling a typed cache), the default namespace, Events sent
// once per change (Teller), metric registration that survives restarts in
// one process (Register), the per-node status objects a component owns
// (SyncOwned), and the binaries' entry point (Main).
//
// Nothing here decides anything about load balancing; the pure packages
// under internal/ do, and the reconcilers call both.
package kube
