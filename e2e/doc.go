// Package e2e holds barelb's end-to-end tests. They run on one lab (package
// e2e/lab): a real control plane, three node namespaces with kube-proxy in
// nftables mode, Pods as namespaces with a small web server, and a client
// outside the cluster. The suite needs root; it runs when BARELB_E2E=1 or
// CI is set (and then fails rather than skips without root), so a plain
// `go test ./...` on a shared machine does not start a cluster.
package e2e
