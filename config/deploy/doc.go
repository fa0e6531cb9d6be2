// Package deploy holds no code: its directory carries the manifests that
// install barelb (namespace, controller Deployment, speaker DaemonSet), and
// its test proves them against a real API server and against the flags and
// environment the binaries read.
package deploy
