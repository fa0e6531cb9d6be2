// Command demo replays the allocation half of seed 002 on a local control
// plane: a LoadBalancer Service waits at <pending> with a reason, the
// seed's IPAddressPool and L2Advertisement are applied, and the Service
// gets its EXTERNAL-IP. It is `make demo` until the network lab lands;
// nothing here sends packets.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/barelb/barelb/controller/app"
	"github.com/barelb/barelb/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	step("starting etcd and kube-apiserver (built from the Go module proxy, cached)")
	env, err := testenv.Start()
	if err != nil {
		return err
	}
	defer func() { _ = env.Stop() }()
	dir, err := os.MkdirTemp("", "barelb-demo")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := writeKubeconfig(env, kubeconfig); err != nil {
		return err
	}
	assets, _ := testenv.Assets()
	k := func(args ...string) error {
		fmt.Printf("\n$ kubectl %s\n", strings.Join(args, " "))
		cmd := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stdout
		return cmd.Run()
	}
	apply := func(yaml string) error {
		fmt.Printf("\n$ kubectl apply -f - <<EOF\n%sEOF\n", yaml)
		cmd := exec.Command(filepath.Join(assets, "kubectl"), "--kubeconfig", kubeconfig, "apply", "-f", "-")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = strings.NewReader(yaml), os.Stdout, os.Stdout
		return cmd.Run()
	}

	step("the barelb controller starts (configuration namespace metallb-system)")
	if err := apply("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: metallb-system\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: service-test\n"); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = app.Run(ctx, env.Config, app.Options{Namespace: "metallb-system", MetricsAddr: "0", HealthAddr: "0",
			Workers: 4, APIQPS: 200, APIBurst: 400, StatusFlushInterval: 200 * time.Millisecond})
	}()

	step("seed 002: a LoadBalancer Service with no address pool stays <pending>, and says why")
	if err := apply(seedService); err != nil {
		return err
	}
	wait(func() bool {
		return strings.Contains(out(assets, kubeconfig, "get", "events", "-n", "service-test"), "NoAddressPool")
	})
	if err := k("get", "svc", "-n", "service-test"); err != nil {
		return err
	}
	if err := k("get", "events", "-n", "service-test", "--field-selector", "involvedObject.name=httpd-service"); err != nil {
		return err
	}

	step("the seed's IPAddressPool and L2Advertisement (pool re-addressed from 192.168.11.136-139 into the lab range)")
	seedDir := filepath.Join(testenv.RepoRoot(), "config", "samples", "seed-002")
	for _, f := range []string{"ipaddresspool.yaml", "l2advertisement.yaml"} {
		b, err := os.ReadFile(filepath.Join(seedDir, f))
		if err != nil {
			return err
		}
		y := strings.ReplaceAll(string(b), "192.168.11.136-192.168.11.139", "198.18.11.136-198.18.11.139")
		if err := apply(y); err != nil {
			return err
		}
	}
	wait(func() bool {
		return strings.Contains(out(assets, kubeconfig, "get", "svc", "-n", "service-test", "httpd-service"), "198.18.11.")
	})
	step("the Service has its EXTERNAL-IP, the pool counts it")
	if err := k("get", "svc", "-n", "service-test"); err != nil {
		return err
	}
	wait(func() bool {
		return strings.Contains(out(assets, kubeconfig, "get", "ipaddresspool", "-n", "metallb-system"), "  1  ")
	})
	if err := k("get", "ipaddresspool", "-n", "metallb-system"); err != nil {
		return err
	}
	if err := k("get", "configurationstate", "-n", "metallb-system"); err != nil {
		return err
	}
	fmt.Println("\nThis demo shows allocation only. Reaching the address from a client over ARP/NDP")
	fmt.Println("needs the speaker and the network lab (issues 3 and 4); the control plane is stopped now.")
	return nil
}

const seedService = `apiVersion: v1
kind: Service
metadata:
  name: httpd-service
  namespace: service-test
spec:
  type: LoadBalancer
  selector:
    app: httpd
  ports:
  - protocol: TCP
    port: 80
    targetPort: 80
`

func step(s string) { fmt.Printf("\n==> %s\n", s) }

func out(assets, kubeconfig string, args ...string) string {
	b, _ := exec.Command(filepath.Join(assets, "kubectl"), append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	return string(b)
}

func wait(cond func() bool) {
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return
		}
	}
}

func writeKubeconfig(env *testenv.Env, path string) error {
	c := env.Config
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*cfg, path)
}
