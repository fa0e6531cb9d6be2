// Package kube holds the Kubernetes plumbing both barelb binaries share,
// so each rule exists once: the configuration read (ListConfig: the
// metallb.io kinds listed unstructured and decoded one object at a time,
// so one stored object that does not decode is named and left out
// instead of stalling a typed cache), the cache transform (TrimForCache),
// the default namespace, Events sent once per change (Teller), metric
// registration that survives restarts in one process (Register), the
// per-node status objects a component owns (Owned), and client-go's
// streaming-list switch (DisableWatchList).
//
// It takes internal/kclient's small client interfaces and imports no
// controller-runtime, so the speaker can use it and stay small; the
// controller passes its controller-runtime clients through
// internal/kube/crkube's adapters. Nothing here decides anything about
// load balancing; the pure packages under internal/ do, and the
// reconcilers call both.
package kube
