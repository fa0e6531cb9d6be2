package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	ctrlapp "github.com/barelb/barelb/controller/app"
	spkapp "github.com/barelb/barelb/speaker/app"
	"github.com/barelb/barelb/testsupport/testenv"
)

// docs reads every YAML document under dir, recursively, in path order.
func docs(t *testing.T, dir string) map[string][][]byte {
	t.Helper()
	out := map[string][][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return err
			}
			var probe map[string]any
			if err := yaml.Unmarshal(doc, &probe); err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if len(probe) == 0 { // only comments
				continue
			}
			out[p] = append(out[p], doc)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestManifestsApply sends the install manifests (RBAC and deploy; the CRDs
// are already installed by envtest) to a real kube-apiserver, as
// `kubectl apply` would: every object must pass the API server's own
// validation. The namespace is created for real, the rest as dry runs.
func TestManifestsApply(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	root := testenv.RepoRoot()
	all := map[string][][]byte{}
	for _, dir := range []string{"config/deploy", "config/rbac"} {
		for p, d := range docs(t, filepath.Join(root, dir)) {
			all[p] = d
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	// The namespace first, for real: namespaced dry runs need it.
	var ns corev1.Namespace
	if err := yaml.Unmarshal(all[filepath.Join(root, "config/deploy/namespace.yaml")][0], &ns); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(ctx, &ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range paths {
		for i, doc := range all[p] {
			var u unstructured.Unstructured
			if err := yaml.Unmarshal(doc, &u.Object); err != nil {
				t.Fatalf("%s document %d: %v", p, i, err)
			}
			if u.GetKind() == "Namespace" {
				continue
			}
			if err := env.Client.Create(ctx, &u, client.DryRunAll); err != nil {
				t.Errorf("%s: %s %s: the API server refuses it: %v", p, u.GetKind(), u.GetName(), err)
			}
			kinds[u.GetKind()]++
		}
	}
	for _, k := range []string{"Deployment", "DaemonSet", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in config/deploy or config/rbac", k)
		}
	}
}

// TestManifestsMatchBinaries checks the containers against the binaries:
// every argument is a flag the binary defines with a value it accepts,
// the probes and ports point at the addresses those flags set, and the
// environment variables are the ones the flags' defaults read (NODE_NAME,
// SPEAKER_IP, POD_NAMESPACE), so a renamed flag or variable fails here
// rather than in an operator's cluster.
func TestManifestsMatchBinaries(t *testing.T) {
	root := testenv.RepoRoot()
	all := docs(t, filepath.Join(root, "config/deploy"))

	var dep appsv1.Deployment
	if err := yaml.Unmarshal(all[filepath.Join(root, "config/deploy/controller.yaml")][0], &dep); err != nil {
		t.Fatal(err)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	setEnv(t, c, map[string]string{"POD_NAMESPACE": "ns-from-env"})
	var copts ctrlapp.Options
	parse(t, "controller", c.Args, copts.BindFlags)
	if copts.Namespace != "ns-from-env" {
		t.Errorf("controller: POD_NAMESPACE does not reach --namespace (got %q)", copts.Namespace)
	}
	checkPorts(t, "controller", c, copts.HealthAddr, copts.MetricsAddr)
	if dep.Spec.Template.Spec.ServiceAccountName != "controller" {
		t.Errorf("controller runs as %q, want the account config/rbac binds", dep.Spec.Template.Spec.ServiceAccountName)
	}

	var ds appsv1.DaemonSet
	if err := yaml.Unmarshal(all[filepath.Join(root, "config/deploy/speaker.yaml")][0], &ds); err != nil {
		t.Fatal(err)
	}
	s := ds.Spec.Template.Spec.Containers[0]
	setEnv(t, s, map[string]string{"NODE_NAME": "node-from-env", "SPEAKER_IP": "198.18.0.9", "POD_NAMESPACE": "ns-from-env"})
	var sopts spkapp.Options
	parse(t, "speaker", s.Args, sopts.BindFlags)
	if sopts.NodeName != "node-from-env" || sopts.MemberlistBindAddr != "198.18.0.9" || sopts.Namespace != "ns-from-env" {
		t.Errorf("speaker: env does not reach the flags: node %q, ml-bind-addr %q, namespace %q", sopts.NodeName, sopts.MemberlistBindAddr, sopts.Namespace)
	}
	checkPorts(t, "speaker", s, sopts.HealthAddr, sopts.MetricsAddr)
	if !ds.Spec.Template.Spec.HostNetwork {
		t.Error("speaker: hostNetwork must be true (it answers ARP/NDP on the node's interfaces)")
	}
	if sc := s.SecurityContext; sc == nil || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Add, "NET_RAW") {
		t.Error("speaker: needs capability NET_RAW for ARP/NDP sockets")
	}
	if ds.Spec.Template.Spec.ServiceAccountName != "speaker" {
		t.Errorf("speaker runs as %q, want the account config/rbac binds", ds.Spec.Template.Spec.ServiceAccountName)
	}
	var ml bool
	for _, p := range s.Ports {
		ml = ml || int(p.ContainerPort) == sopts.MemberlistPort
	}
	if !ml {
		t.Errorf("speaker: no container port for memberlist %d", sopts.MemberlistPort)
	}
}

// setEnv sets the container's fieldRef variables to the given stand-in
// values (the kubelet would fill them) and fails on a variable the test
// does not expect, or an expected one the container lacks.
func setEnv(t *testing.T, c corev1.Container, values map[string]string) {
	t.Helper()
	seen := map[string]bool{}
	for _, e := range c.Env {
		v, ok := values[e.Name]
		if !ok {
			t.Errorf("%s: unexpected env %s; add it to this test with what it feeds", c.Name, e.Name)
			continue
		}
		seen[e.Name] = true
		t.Setenv(e.Name, v)
	}
	for k := range values {
		if !seen[k] {
			t.Errorf("%s: env %s is not set", c.Name, k)
		}
	}
}

func parse(t *testing.T, name string, args []string, bind func(*flag.FlagSet)) {
	t.Helper()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Errorf("%s: args %q: %v", name, args, err)
	}
	if fs.NArg() > 0 {
		t.Errorf("%s: stray arguments %q", name, fs.Args())
	}
}

// checkPorts wants the probes on the health address's port and container
// ports named health and metrics on the flags' ports.
func checkPorts(t *testing.T, name string, c corev1.Container, healthAddr, metricsAddr string) {
	t.Helper()
	named := map[string]int32{}
	for _, p := range c.Ports {
		named[p.Name] = p.ContainerPort
	}
	for portName, addr := range map[string]string{"health": healthAddr, "metrics": metricsAddr} {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Errorf("%s: %s address %q: %v", name, portName, addr, err)
			continue
		}
		if got := named[portName]; port != strconv.Itoa(int(got)) {
			t.Errorf("%s: container port %q is %d, the flag listens on %s", name, portName, got, port)
		}
	}
	for probe, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, probe)
			continue
		}
		if p.HTTPGet.Port.StrVal != "health" {
			t.Errorf("%s: %s probe port %v, want the port named health", name, probe, p.HTTPGet.Port)
		}
	}
	if c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path != "/healthz" {
		t.Errorf("%s: liveness path %q, want /healthz", name, c.LivenessProbe.HTTPGet.Path)
	}
	if c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: readiness path %q, want /readyz", name, c.ReadinessProbe.HTTPGet.Path)
	}
}
