// Package deploy holds no code: its directory carries barelb.yaml, the
// plain install manifest (namespace, service accounts, RBAC, controller
// Deployment, speaker DaemonSet, PodDisruptionBudget, NetworkPolicy)
// rendered from charts/barelb by `make manifests`, and its test proves it
// against a real API server and against the flags and environment the
// binaries read.
package deploy
