// Package realnodes holds the end-to-end tests that need a lab of real
// kubelets (lab.Options.RealNodes): containerd and a kubelet in every node
// namespace, Pods run from the locally built images. It is its own package
// so that `go test ./e2e/realnodes/` brings up only its own lab, not the
// process lab the e2e package shares between its tests. Gated like the
// rest of e2e: BARELB_E2E=1 (or CI) and root.
package realnodes
