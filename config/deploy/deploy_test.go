package deploy_test

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/config/deploy"
	ctrlapp "github.com/barelb/barelb/controller/app"
	spkapp "github.com/barelb/barelb/speaker/app"
	"github.com/barelb/barelb/testsupport/testenv"
)

// docs reads every YAML document under dir (or the one file dir names),
// recursively, in path order.
func docs(t *testing.T, dir string) map[string][]*unstructured.Unstructured {
	t.Helper()
	out := map[string][]*unstructured.Unstructured{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		objs, err := deploy.Decode(f)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		out[p] = objs
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// deployFile is the plain install manifest, rendered from charts/barelb by
// `make manifests` (make verify-generated fails when it is stale).
const deployFile = "config/deploy/barelb.yaml"

// objects lists the objects of the given files in path order.
func objects(files map[string][]*unstructured.Unstructured) []*unstructured.Unstructured {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var out []*unstructured.Unstructured
	for _, p := range paths {
		out = append(out, files[p]...)
	}
	return out
}

// TestManifestsApply sends the plain install manifest (and config/rbac,
// which the process lab applies) to a real kube-apiserver, as
// `kubectl apply --server-side` would, with strict field validation: every
// object must pass the API server's own validation, an unknown field
// included. The namespace is created for real, the rest as dry runs.
func TestManifestsApply(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	root := testenv.RepoRoot()
	all := map[string][]*unstructured.Unstructured{}
	for _, dir := range []string{deployFile, "config/rbac"} {
		for p, d := range docs(t, filepath.Join(root, dir)) {
			all[p] = d
		}
	}
	objs := objects(all)
	// Namespaces first, for real: namespaced dry runs need them.
	for _, u := range objs {
		if u.GetKind() != "Namespace" {
			continue
		}
		if err := env.Client.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	// A copy from before the applies, which write the server's answer back.
	bad := &unstructured.Unstructured{}
	for _, u := range objs {
		if u.GetKind() == "Deployment" {
			bad = u.DeepCopy()
		}
	}
	kinds := map[string]int{}
	for _, u := range objs {
		kinds[u.GetKind()]++
		if u.GetKind() == "Namespace" {
			continue
		}
		if err := applyDryRun(ctx, env.Client, u); err != nil {
			t.Errorf("%s %s: the API server refuses it: %v", u.GetKind(), u.GetName(), err)
		}
	}
	for _, k := range []string{"Namespace", "Deployment", "DaemonSet", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "PodDisruptionBudget", "NetworkPolicy"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in %s or config/rbac", k, deployFile)
		}
	}
	// The check can fail: a misspelt field is refused, not dropped.
	if err := unstructured.SetNestedField(bad.Object, int64(2), "spec", "replicaz"); err != nil {
		t.Fatal(err)
	}
	if err := applyDryRun(ctx, env.Client, bad); err == nil || !strings.Contains(err.Error(), "replicaz") {
		t.Errorf("a Deployment with spec.replicaz: want a strict-validation error naming it, got %v", err)
	}
}

// applyDryRun is `kubectl apply --server-side --dry-run=server
// --validate=strict` of one object (server-side apply is always strict).
func applyDryRun(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner("deploy-test"), client.ForceOwnership, client.DryRunAll)
}

// TestManifestsMatchBinaries checks the containers against the binaries:
// every argument is a flag the binary defines with a value it accepts,
// the probes and ports point at the addresses those flags set, and the
// environment variables are the ones the flags' defaults read (NODE_NAME,
// SPEAKER_IP, POD_NAMESPACE), so a renamed flag or variable fails here
// rather than in an operator's cluster. Each runs as a service account of
// the manifest, bound to exactly the rules controller-gen generated.
func TestManifestsMatchBinaries(t *testing.T) {
	root := testenv.RepoRoot()
	objs := objects(docs(t, filepath.Join(root, deployFile)))
	var dep appsv1.Deployment
	var ds appsv1.DaemonSet
	for _, u := range objs {
		switch u.GetKind() {
		case "Deployment":
			convert(t, u, &dep, true)
		case "DaemonSet":
			convert(t, u, &ds, true)
		}
	}
	if dep.Name == "" || ds.Name == "" {
		t.Fatalf("%s: want one Deployment and one DaemonSet, got %q and %q", deployFile, dep.Name, ds.Name)
	}

	c := dep.Spec.Template.Spec.Containers[0]
	// GOMEMLIMIT feeds the Go runtime (the container's memory limit), not
	// a flag.
	setEnv(t, c, map[string]string{"POD_NAMESPACE": "ns-from-env", "GOMEMLIMIT": "536870912"})
	memLimitFromContainer(t, c)
	var copts ctrlapp.Options
	parse(t, "controller", c.Args, copts.BindFlags)
	if copts.Namespace != "ns-from-env" {
		t.Errorf("controller: POD_NAMESPACE does not reach --namespace (got %q)", copts.Namespace)
	}
	if !copts.LeaderElect || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("controller: want 2 replicas with leader election, got %v replicas, leader-elect %v", dep.Spec.Replicas, copts.LeaderElect)
	}
	checkPorts(t, "controller", c, copts.HealthAddr, copts.MetricsAddr)
	checkAccount(t, root, objs, "controller", dep.Namespace, dep.Spec.Template.Spec.ServiceAccountName)

	s := ds.Spec.Template.Spec.Containers[0]
	setEnv(t, s, map[string]string{"NODE_NAME": "node-from-env", "SPEAKER_IP": "198.18.0.9", "POD_NAMESPACE": "ns-from-env", "GOMEMLIMIT": "536870912"})
	memLimitFromContainer(t, s)
	var sopts spkapp.Options
	parse(t, "speaker", s.Args, sopts.BindFlags)
	if sopts.NodeName != "node-from-env" || sopts.MemberlistBindAddr != "198.18.0.9" || sopts.Namespace != "ns-from-env" {
		t.Errorf("speaker: env does not reach the flags: node %q, ml-bind-addr %q, namespace %q", sopts.NodeName, sopts.MemberlistBindAddr, sopts.Namespace)
	}
	checkPorts(t, "speaker", s, sopts.HealthAddr, sopts.MetricsAddr)
	if !ds.Spec.Template.Spec.HostNetwork {
		t.Error("speaker: hostNetwork must be true (it answers ARP/NDP on the node's interfaces)")
	}
	if sc := s.SecurityContext; sc == nil || sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_RAW"}) ||
		!slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Error("speaker: wants exactly capability NET_RAW (ARP/NDP sockets), all others dropped")
	}
	checkAccount(t, root, objs, "speaker", ds.Namespace, ds.Spec.Template.Spec.ServiceAccountName)
	var ml bool
	for _, p := range s.Ports {
		ml = ml || int(p.ContainerPort) == sopts.MemberlistPort
	}
	if !ml {
		t.Errorf("speaker: no container port for memberlist %d", sopts.MemberlistPort)
	}
	// No memberlist key is committed: README tells how to create this one.
	for _, u := range objs {
		if u.GetKind() == "Secret" {
			t.Errorf("%s holds Secret %s: every cluster must make its own gossip key", deployFile, u.GetName())
		}
	}
	if sopts.MemberlistSecretName != "barelb-memberlist" || sopts.MemberlistSecretKey != "secretkey" {
		t.Errorf("speaker reads gossip key %s/%s; README.md tells operators to create barelb-memberlist/secretkey", sopts.MemberlistSecretName, sopts.MemberlistSecretKey)
	}
}

// convert turns an object into a typed one; strict refuses fields the
// type does not have (for the workloads, where a typo must fail).
func convert(t *testing.T, u *unstructured.Unstructured, into any, strict bool) {
	t.Helper()
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	unmarshal := func(b []byte, o any) error { return yaml.Unmarshal(b, o) }
	if strict {
		unmarshal = func(b []byte, o any) error { return yaml.UnmarshalStrict(b, o) }
	}
	if err := unmarshal(b, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// checkAccount wants the service account in the manifest and bound, by a
// ClusterRoleBinding and (if controller-gen wrote one) a RoleBinding in
// its namespace, to roles whose rules are config/rbac/<component>/role.yaml's.
func checkAccount(t *testing.T, root string, objs []*unstructured.Unstructured, component, ns, account string) {
	t.Helper()
	want := map[string][]rbacv1.PolicyRule{}
	for _, u := range objects(docs(t, filepath.Join(root, "config/rbac", component))) {
		var r struct {
			Rules []rbacv1.PolicyRule `json:"rules"`
		}
		convert(t, u, &r, false)
		want[u.GetKind()] = r.Rules
	}
	roles := map[string][]rbacv1.PolicyRule{}
	var sa bool
	for _, u := range objs {
		switch u.GetKind() {
		case "ServiceAccount":
			sa = sa || (u.GetName() == account && u.GetNamespace() == ns)
		case "ClusterRole", "Role":
			var r struct {
				Rules []rbacv1.PolicyRule `json:"rules"`
			}
			convert(t, u, &r, false)
			roles[u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName()] = r.Rules
		}
	}
	if !sa {
		t.Errorf("%s runs as service account %s/%s, which the manifest does not create", component, ns, account)
	}
	bound := map[string]bool{}
	for _, u := range objs {
		if u.GetKind() != "ClusterRoleBinding" && u.GetKind() != "RoleBinding" {
			continue
		}
		var b rbacv1.RoleBinding
		convert(t, u, &b, false)
		for _, s := range b.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == account && s.Namespace == ns {
				roleNS := ""
				if b.RoleRef.Kind == "Role" {
					roleNS = u.GetNamespace()
				}
				rules, ok := roles[b.RoleRef.Kind+"/"+roleNS+"/"+b.RoleRef.Name]
				if !ok {
					t.Errorf("%s %s binds %s to missing %s %s", u.GetKind(), u.GetName(), account, b.RoleRef.Kind, b.RoleRef.Name)
				}
				if w, ok := want[b.RoleRef.Kind]; ok && !reflect.DeepEqual(rules, w) {
					t.Errorf("%s %s: rules differ from config/rbac/%s/role.yaml (run make manifests)", b.RoleRef.Kind, b.RoleRef.Name, component)
				}
				bound[b.RoleRef.Kind] = true
			}
		}
	}
	for kind := range want {
		if !bound[kind] {
			t.Errorf("%s: no %s bound to %s/%s, though config/rbac/%s has one", component, kind, ns, account, component)
		}
	}
}

// setEnv sets the container's fieldRef variables to the given stand-in
// values (the kubelet would fill them) and fails on a variable the test
// does not expect, or an expected one the container lacks.
// memLimitFromContainer checks GOMEMLIMIT is the container's own memory
// limit, in bytes, from the downward API.
func memLimitFromContainer(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, e := range c.Env {
		if e.Name == "GOMEMLIMIT" {
			if e.ValueFrom == nil || e.ValueFrom.ResourceFieldRef == nil || e.ValueFrom.ResourceFieldRef.Resource != "limits.memory" ||
				(e.ValueFrom.ResourceFieldRef.ContainerName != "" && e.ValueFrom.ResourceFieldRef.ContainerName != c.Name) {
				t.Errorf("%s: GOMEMLIMIT is %+v, want the container's limits.memory", c.Name, e.ValueFrom)
			}
		}
	}
}

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
	if err := deploy.ParseArgs(name, args, bind); err != nil {
		t.Error(err)
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
