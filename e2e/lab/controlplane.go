package lab

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// controllers is what kube-controller-manager runs: enough for the seed's
// Deployment and Services to behave as on a real cluster. Deliberately
// absent: node-ipam (the lab assigns Pod CIDRs), node-lifecycle (the lab
// keeps Nodes Ready itself and tests flip readiness explicitly), and every
// cloud controller, so a LoadBalancer Service stays <pending> until barelb
// assigns it.
var controllers = []string{
	"deployment-controller",
	"replicaset-controller",
	"endpointslice-controller",
	"endpointslice-mirroring-controller",
	"endpoints-controller",
	"serviceaccount-controller", // the "default" ServiceAccount Pods need
	"garbage-collector-controller",
	"namespace-controller",
	"root-ca-certificate-publisher-controller",
}

// startControlPlane issues certificates, writes kubeconfigs, and starts etcd,
// kube-apiserver and kube-controller-manager in the cp namespace.
func (l *Lab) startControlPlane(ctx context.Context) error {
	pk, err := newPKI(filepath.Join(l.StateDir, "pki"))
	if err != nil {
		return err
	}
	if err := pk.serviceAccountKey(); err != nil {
		return err
	}
	serverIPs := []net.IP{
		net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.IP(MgmtCP.AsSlice()),
		net.IP(ServiceCIDRv4.Addr().Next().AsSlice()), net.IP(ServiceCIDRv6.Addr().Next().AsSlice()),
	}
	dns := []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	if _, err := pk.issue("apiserver", "kube-apiserver", nil, serverIPs, dns, true); err != nil {
		return err
	}
	admin, err := pk.issue("admin", "barelb-lab-admin", []string{"system:masters"}, nil, nil, false)
	if err != nil {
		return err
	}
	proxy, err := pk.issue("kube-proxy", "system:kube-proxy", nil, nil, nil, false)
	if err != nil {
		return err
	}
	l.adminCert = admin
	l.caPEM = pk.CAPEM
	inLab := fmt.Sprintf("https://%s", net.JoinHostPort(MgmtCP.String(), fmt.Sprint(APIPort)))
	l.Kubeconfig = filepath.Join(l.StateDir, "lab.kubeconfig")
	if err := writeKubeconfig(l.Kubeconfig, inLab, pk.CAPEM, admin); err != nil {
		return err
	}
	l.proxyKubeconfig = filepath.Join(l.StateDir, "kube-proxy.kubeconfig")
	if err := writeKubeconfig(l.proxyKubeconfig, inLab, pk.CAPEM, proxy); err != nil {
		return err
	}
	if err := l.issueComponentKubeconfigs(pk, inLab); err != nil {
		return err
	}
	authz := "RBAC"
	ctrls := controllers
	if l.opts.RealNodes {
		if err := l.issueRealNodeKubeconfigs(pk, inLab); err != nil {
			return err
		}
		// Kubelets act as system:node:<name>, which the Node authorizer
		// limits to their own Node and Pods.
		authz = "Node,RBAC"
		ctrls = append(append([]string(nil), controllers...), realNodeControllers...)
	}

	l.Etcd = newComponent("etcd", l.CP, l.logDir, nil, l.tool("etcd"),
		"--name=lab",
		"--data-dir="+filepath.Join(l.StateDir, "etcd"),
		"--listen-client-urls=http://127.0.0.1:2379",
		"--advertise-client-urls=http://127.0.0.1:2379",
		"--listen-peer-urls=http://127.0.0.1:2380",
		"--initial-advertise-peer-urls=http://127.0.0.1:2380",
		"--initial-cluster=lab=http://127.0.0.1:2380",
		"--unsafe-no-fsync", // throwaway data on tmpfs: fsync only costs time
		"--log-level=warn",
	)
	l.APIServer = newComponent("kube-apiserver", l.CP, l.logDir, nil, l.tool("kube-apiserver"),
		"--etcd-servers=http://127.0.0.1:2379",
		"--bind-address=0.0.0.0",
		"--advertise-address="+MgmtCP.String(),
		fmt.Sprintf("--secure-port=%d", APIPort),
		"--service-cluster-ip-range="+ServiceCIDRv4.String()+","+ServiceCIDRv6.String(),
		"--cert-dir="+filepath.Join(l.StateDir, "apiserver-certs"),
		"--tls-cert-file="+pk.path("apiserver.crt"),
		"--tls-private-key-file="+pk.path("apiserver.key"),
		"--client-ca-file="+pk.path("ca.crt"),
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pk.path("sa.pub"),
		"--service-account-signing-key-file="+pk.path("sa.key"),
		"--authorization-mode="+authz,
		"--allow-privileged=true",
		"--profiling=false",
		"--v=1",
	)
	if l.opts.RealNodes {
		// kubectl logs/exec: the API server calls the kubelets, by their
		// InternalIP (its default tries the host name first, which only
		// the host's resolver could answer), with a client certificate
		// the kubelets' x509 authentication accepts.
		if _, err := pk.issue("apiserver-kubelet-client", "kube-apiserver-kubelet-client", []string{"system:masters"}, nil, nil, false); err != nil {
			return err
		}
		l.APIServer.Args = append(l.APIServer.Args,
			"--kubelet-preferred-address-types=InternalIP",
			"--kubelet-client-certificate="+pk.path("apiserver-kubelet-client.crt"),
			"--kubelet-client-key="+pk.path("apiserver-kubelet-client.key"),
		)
	}
	// The API server may ignore SIGTERM while it drains; do not wait long.
	l.APIServer.stopTimeout = 3 * time.Second
	l.ControllerManager = newComponent("kube-controller-manager", l.CP, l.logDir, nil, l.tool("kube-controller-manager"),
		"--kubeconfig="+l.Kubeconfig,
		"--controllers="+strings.Join(ctrls, ","),
		"--leader-elect=false",
		"--secure-port=0",
		"--root-ca-file="+pk.path("ca.crt"),
		"--cluster-cidr="+ClusterCIDRv4.String()+","+ClusterCIDRv6.String(),
		"--allocate-node-cidrs=false",
		"--v=1",
	)

	if err := l.Etcd.Start(); err != nil {
		return err
	}
	if err := l.APIServer.Start(); err != nil {
		return err
	}
	if err := l.connect(); err != nil {
		return err
	}
	if err := l.WaitAPIServer(ctx); err != nil {
		return err
	}
	l.step("kube-apiserver ready")
	if err := l.ControllerManager.Start(); err != nil {
		return err
	}
	if l.Scheduler != nil {
		return l.Scheduler.Start()
	}
	return nil
}

// WaitAPIServer polls /readyz until the API server answers ok, failing fast
// with the log's tail when etcd or the API server process exits.
func (l *Lab) WaitAPIServer(ctx context.Context) error {
	var last error
	err := pollUntil(ctx, 90*time.Second, 200*time.Millisecond, func() (bool, error) {
		for _, c := range []*Component{l.Etcd, l.APIServer} {
			if !c.Running() {
				return false, fmt.Errorf("%s exited:\n%s", c.Name, c.Tail(20))
			}
		}
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		body, err := l.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		if err == nil && strings.TrimSpace(string(body)) == "ok" {
			return true, nil
		}
		last = err
		return false, nil
	})
	if err != nil && last != nil {
		err = fmt.Errorf("%w (last: %s)", err, clip(last.Error(), 1, 160))
	}
	return err
}

// waitControllerManager waits for the ServiceAccount controller to create
// the default ServiceAccount: until then the API server rejects Pods.
func (l *Lab) waitControllerManager(ctx context.Context) error {
	return pollUntil(ctx, 60*time.Second, 200*time.Millisecond, func() (bool, error) {
		if !l.ControllerManager.Running() {
			return false, fmt.Errorf("kube-controller-manager exited:\n%s", l.ControllerManager.Tail(20))
		}
		_, err := l.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return err == nil, nil
	})
}

// pollUntil calls cond every interval until it reports done, returns an
// error, or timeout / ctx ends.
func pollUntil(ctx context.Context, timeout, interval time.Duration, cond func() (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		done, err := cond()
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return fmt.Errorf("timed out after %v", timeout)
			}
			return ctx.Err()
		case <-t.C:
		}
	}
}

// realNodeControllers are what kube-controller-manager adds for real
// kubelets: node-lifecycle-controller lifts the not-ready taint the API
// server puts on every new Node (until then nothing is scheduled there)
// and watches the kubelets' leases; daemonset-controller runs DaemonSets
// such as barelb's speaker.
var realNodeControllers = []string{"node-lifecycle-controller", "daemonset-controller"}

// issueRealNodeKubeconfigs writes each kubelet's kubeconfig (user
// system:node:<name> in group system:nodes, what the Node authorizer
// expects) and kube-scheduler's (system:kube-scheduler, which the API
// server's default RBAC binds), and defines the scheduler.
func (l *Lab) issueRealNodeKubeconfigs(pk *pki, server string) error {
	l.caFile = pk.path("ca.crt")
	for _, n := range l.Nodes {
		pair, err := pk.issue("kubelet-"+n.Name, "system:node:"+n.Name, []string{"system:nodes"}, nil, nil, false)
		if err != nil {
			return err
		}
		n.rt.kubeconfig = filepath.Join(l.StateDir, "kubelet-"+n.Name+".kubeconfig")
		if err := writeKubeconfig(n.rt.kubeconfig, server, pk.CAPEM, pair); err != nil {
			return err
		}
	}
	pair, err := pk.issue("kube-scheduler", "system:kube-scheduler", nil, nil, nil, false)
	if err != nil {
		return err
	}
	kc := filepath.Join(l.StateDir, "kube-scheduler.kubeconfig")
	if err := writeKubeconfig(kc, server, pk.CAPEM, pair); err != nil {
		return err
	}
	l.Scheduler = newComponent("kube-scheduler", l.CP, l.logDir, nil, l.tool("kube-scheduler"),
		"--kubeconfig="+kc,
		"--authentication-kubeconfig="+kc,
		"--authorization-kubeconfig="+kc,
		"--leader-elect=false",
		"--bind-address=127.0.0.1",
		"--v=1",
	)
	return nil
}
