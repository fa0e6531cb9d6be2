package lab

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// kubeProxyConfig is kube-proxy's configuration file for one node.
//
//   - mode nftables: the only mode that needs nothing from the host (no
//     iptables-legacy, no IPVS modules), and it runs inside a namespace.
//   - conntrack maxPerCore 0 and zero timeouts: leave the conntrack sysctls
//     alone; nf_conntrack_max is not writable from a non-initial namespace.
//   - hostnameOverride: the Node name, which is what makes
//     externalTrafficPolicy: Local pick this node's own endpoints.
//   - detectLocalMode ClusterCIDR: traffic from Pod ranges is local.
//   - nodePortAddresses primary: NodePorts on the node's InternalIPs (the
//     LAN), not on the management address.
//   - health and metrics ports bind inside the node's namespace.
const kubeProxyConfig = `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection:
  kubeconfig: %s
hostnameOverride: %s
clusterCIDR: %s
detectLocalMode: ClusterCIDR
nodePortAddresses: ["primary"]
healthzBindAddress: 0.0.0.0:10256
metricsBindAddress: 127.0.0.1:10249
bindAddressHardFail: true
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
  udpTimeout: 0s
  udpStreamTimeout: 0s
nftables:
  syncPeriod: 30s
  minSyncPeriod: 0s
`

// startKubeProxies writes each node's config and starts kube-proxy in the
// node's namespace.
func (l *Lab) startKubeProxies() error {
	for _, n := range l.Nodes {
		cfg := filepath.Join(l.StateDir, "kube-proxy-"+n.Name+".yaml")
		body := fmt.Sprintf(kubeProxyConfig, l.proxyKubeconfig, n.Name,
			ClusterCIDRv4.String()+","+ClusterCIDRv6.String())
		if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
			return err
		}
		n.KubeProxy = newComponent("kube-proxy-"+n.Name, n.NS, l.logDir, nil, l.tool("kube-proxy"),
			"--config="+cfg, "--v=1")
		if err := n.KubeProxy.Start(); err != nil {
			return err
		}
	}
	return nil
}

// waitKubeProxies waits until every kube-proxy's healthz says it has
// programmed the node's rules.
func (l *Lab) waitKubeProxies(ctx context.Context) error {
	for _, n := range l.Nodes {
		hc := &http.Client{
			Timeout:   2 * time.Second,
			Transport: &http.Transport{DialContext: dialerIn(n.NS), DisableKeepAlives: true},
		}
		err := pollUntil(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
			if !n.KubeProxy.Running() {
				return false, fmt.Errorf("%s exited:\n%s", n.KubeProxy.Name, n.KubeProxy.Tail(20))
			}
			resp, err := hc.Get("http://127.0.0.1:10256/healthz")
			if err != nil {
				return false, nil
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK, nil
		})
		if err != nil {
			return fmt.Errorf("kube-proxy on %s: %w", n.Name, err)
		}
	}
	return nil
}
