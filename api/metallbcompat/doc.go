// Package metallbcompat proves, on a real kube-apiserver, that barelb's
// CRDs take MetalLB's own configuration unchanged. It holds no code, only
// tests and their data:
//
//   - testdata/examples: every configuration example of MetalLB v0.16.1's
//     documentation and configsamples/ (and the preferredNodeSelectors
//     examples of its main branch), copied as they are published, one
//     example per file, with a first comment line naming its source. Each
//     is sent server-side with dry run and strict field validation, as
//     `kubectl apply --server-side --dry-run=server --validate=strict`
//     would, and must be accepted.
//   - testdata/crds: MetalLB v0.16.1's CRDs from its native manifest,
//     whose BGPPeer CRD converts through a webhook. The switch test
//     installs them, applies barelb's over them server-side as an operator
//     replacing MetalLB would, and reads and writes BGPPeers through both
//     versions with no webhook running.
//
// Each test starts its own etcd and kube-apiserver (a few seconds).
package metallbcompat
