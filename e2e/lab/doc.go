// Package lab runs a whole small Kubernetes cluster on one machine for
// barelb's demo and end-to-end tests: real etcd, kube-apiserver,
// kube-controller-manager and kube-proxy (nftables mode), a mini kubelet in
// the lab process that runs every Pod as a network namespace with a tiny web
// server in it, three node namespaces and a client namespace on one LAN, and
// hooks to start the barelb controller and one speaker per node.
//
// # Where the control plane runs, and why
//
// etcd, kube-apiserver, kube-controller-manager and the barelb controller run
// inside a dedicated "cp" namespace on a management LAN that every node
// namespace also joins (interface mgmt0). Nothing is configured in the host
// namespace: no address, no link, no route. That keeps each lab self-contained,
// so the long-lived demo lab and any number of test labs use the same
// addresses side by side without colliding, and no lab traffic can ever be
// routed towards the host's own interfaces. The lab process itself reaches the
// API server by dialing from inside the cp namespace (see dialer.go), and for
// people it serves a plain TCP forwarder on the host's 127.0.0.1 (host
// kubeconfig); the forwarder only carries host-to-lab connections the host
// opens, never lab traffic out.
//
// A separate management LAN, rather than the API server on the node LAN,
// means a test can take a node's LAN link down (failover) while its
// kube-proxy and speaker keep talking to the API server, as on a real
// cluster with a control-plane network.
//
// # Namespaces and addresses (all from 198.18.0.0/15 and 2001:db8::/32)
//
// The demo lab uses the fixed tag "barelb"; tests use a random tag, so names
// read "<tag>-node1" and so on. The node LAN mirrors the seed walkthrough's
// 192.168.11.0/24 as 198.18.1.0/24 (its .131-.133 hosts, its .136-.139 pool
// and its outside client .201), so the seed's manifests re-address by
// replacing "192.168.11." with "198.18.1.".
//
//	<tag>-sw       switch: bridges "lan" and "mgmt", nothing else
//	<tag>-cp       mgmt0 198.18.0.1/24: etcd (127.0.0.1:2379), kube-apiserver
//	               (:6443), kube-controller-manager, barelb controller
//	<tag>-nodeN    eth0 198.18.1.13N/24, 2001:db8:1::13N/64 (node LAN, InternalIPs)
//	               mgmt0 198.18.0.1N/24 (API server traffic only)
//	               Pod CIDRs 198.18.24N.0/24 and 2001:db8:244:N::/64, routed
//	               host-gateway style via the other nodes' LAN addresses;
//	               kube-proxy (nftables) and the barelb speaker run here
//	<tag>-client   eth0 198.18.1.201/24, 2001:db8:1::201/64: outside the
//	               cluster, no route to Pod or Service ranges
//	<tag>-pod-...  one per Pod: eth0 with the Pod's /32 and /128, routes to the
//	               lab ranges via its node (ptp style); runs e2e/cmd/backend
//
//	ClusterIPs:    198.19.0.0/16 and 2001:db8:96::/112 (dual-stack cluster)
//	LB pool (demo) 198.18.1.136-198.18.1.139 and 2001:db8:1::136-2001:db8:1::139
//
// # Lifetime
//
// Start brings everything up and returns a ready lab; Close tears all of it
// down (processes, Pod namespaces, node namespaces, links; nftables tables go
// with their namespaces) and is safe to call on every path. A lab whose
// owning process was SIGKILLed is removed by the next Start (netlab.Sweep).
package lab
