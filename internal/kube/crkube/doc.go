// Package crkube is the controller-runtime side of barelb's Kubernetes
// plumbing, for the controller, the kubectl plugin and tests: the Scheme
// of every API group client-go knows plus barelb's, the controller's
// entry point (Main), and adapters that pass controller-runtime clients
// to internal/kube's helpers. The speaker must not import it (see
// internal/kclient for why; speaker/deps_test.go checks).
package crkube
