package barelb_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/config/deploy"
	ctrlapp "github.com/barelb/barelb/controller/app"
	spkapp "github.com/barelb/barelb/speaker/app"
)

var toggles = filepath.Join(chartDir, "testdata", "all-toggles.yaml")

// TestLint runs `helm lint --strict` (warnings fail too) with the default
// values and with every toggle flipped.
func TestLint(t *testing.T) {
	for _, args := range [][]string{nil, {"-f", toggles}} {
		if out, err := helm(t, append([]string{"lint", "--strict", chartDir, "--namespace", "lb-test"}, args...)...); err != nil {
			t.Errorf("%v\n%s", err, out)
		}
	}
}

// TestRendersApply sends what `helm template --include-crds` renders to a
// real kube-apiserver as a strict server-side apply dry run, for the
// default values, every toggle flipped, and each component alone.
// Namespaces are created for real first, as helm would need them.
func TestRendersApply(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	cases := []struct {
		name, ns string
		args     []string
		want     []string // kinds that must be in the render
		not      []string // kinds that must not
	}{
		{"defaults", "metallb-system", nil,
			[]string{"CustomResourceDefinition", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding", "Secret", "Deployment", "DaemonSet", "PodDisruptionBudget", "NetworkPolicy"},
			[]string{"Namespace", "ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap", "Service"}},
		{"toggles", "lb-test", []string{"-f", toggles},
			[]string{"Namespace", "ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap", "Service", "Deployment", "DaemonSet", "NetworkPolicy"},
			[]string{"Secret"}},
		{"controller-only", "lb-controller", []string{"--set", "speaker.enabled=false"},
			[]string{"Deployment"}, []string{"DaemonSet", "Secret"}},
		{"speaker-only", "lb-speaker", []string{"--set", "controller.enabled=false"},
			[]string{"DaemonSet", "Secret"}, []string{"Deployment", "PodDisruptionBudget"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, "barelb", tc.ns, append([]string{"--include-crds"}, tc.args...)...)
			kinds := map[string]bool{}
			for _, u := range objs {
				kinds[u.GetKind()] = true
			}
			for _, k := range tc.want {
				if !kinds[k] {
					t.Errorf("no %s rendered", k)
				}
			}
			for _, k := range tc.not {
				if kinds[k] {
					t.Errorf("%s rendered, want none", k)
				}
			}
			// The release namespace, and any other a template names, exist
			// before the dry runs (helm install -n needs the former too).
			nss := map[string]bool{tc.ns: true}
			for _, u := range objs {
				if u.GetNamespace() != "" {
					nss[u.GetNamespace()] = true
				}
			}
			for ns := range nss {
				if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
			}
			for _, u := range objs {
				if err := applyDryRun(ctx, env.Client, u); err != nil {
					t.Errorf("%s %s/%s: the API server refuses it: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
				}
			}
		})
	}
	// The dry runs can fail: a misplaced field in a monitoring object is
	// refused too, so the minimal CRDs do validate.
	objs := render(t, "barelb", "lb-test", "-f", toggles)
	sm := byKind(objs, "ServiceMonitor")[0].DeepCopy()
	if err := unstructured.SetNestedField(sm.Object, "metrics", "spec", "port"); err != nil {
		t.Fatal(err)
	}
	if err := applyDryRun(ctx, env.Client, sm); err == nil || !strings.Contains(err.Error(), "port") {
		t.Errorf("ServiceMonitor with spec.port: want a strict-validation error naming it, got %v", err)
	}
}

func applyDryRun(ctx context.Context, c client.Client, u *unstructured.Unstructured) error {
	return c.Apply(ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll)
}

// TestCRDsAreGenerated: the chart's crds/ are the generated CRDs, byte for
// byte (make manifests copies them; make verify-generated catches drift,
// this catches it in go test too).
func TestCRDsAreGenerated(t *testing.T) {
	gen, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	if err != nil || len(gen) == 0 {
		t.Fatalf("no generated CRDs: %v", err)
	}
	got, _ := filepath.Glob(filepath.Join(chartDir, "crds", "*.yaml"))
	if len(got) != len(gen) {
		t.Errorf("charts/barelb/crds has %d files, config/crd/bases %d: run make manifests", len(got), len(gen))
	}
	for _, p := range gen {
		same(t, p, filepath.Join(chartDir, "crds", filepath.Base(p)))
	}
	for _, c := range []string{"controller", "speaker"} {
		same(t, filepath.Join(root, "config", "rbac", c, "role.yaml"), filepath.Join(chartDir, "files", "rbac", c+".yaml"))
	}
}

// TestToggles checks that the values reach the objects: flags, images,
// scheduling, the Pod Security namespace, the monitors' job labels, and
// the PrometheusRule's per-alert switches.
func TestToggles(t *testing.T) {
	objs := render(t, "barelb", "lb-test", "-f", toggles)
	var dep appsv1.Deployment
	var ds appsv1.DaemonSet
	into(t, byKind(objs, "Deployment")[0], &dep)
	into(t, byKind(objs, "DaemonSet")[0], &ds)
	c, s := dep.Spec.Template.Spec.Containers[0], ds.Spec.Template.Spec.Containers[0]
	for _, a := range []string{"--lb-class=example.com/barelb", "--leader-elect=false", "--lease-duration=30s", "--zap-log-level=debug", "--status-interval=2s", "--workers=6"} {
		if !slices.Contains(c.Args, a) {
			t.Errorf("controller args %q lack %s", c.Args, a)
		}
	}
	for _, a := range []string{"--lb-class=example.com/barelb", "--disable-memberlist", "--handover=3s", "--ignore-interfaces=mgmt*,bmc0", "--zap-log-level=10", "--metrics-addr=:9474"} {
		if !slices.Contains(s.Args, a) {
			t.Errorf("speaker args %q lack %s", s.Args, a)
		}
	}
	// Every argument of this non-default render is a flag the binaries
	// define, with a value they accept.
	for _, err := range []error{
		deploy.ParseArgs("controller", c.Args, (&ctrlapp.Options{}).BindFlags),
		deploy.ParseArgs("speaker", s.Args, (&spkapp.Options{}).BindFlags),
	} {
		if err != nil {
			t.Error(err)
		}
	}
	if c.Image != "registry.example/barelb-controller:c1" || s.Image != "registry.example/barelb:s1" || s.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("images: controller %s, speaker %s %s", c.Image, s.Image, s.ImagePullPolicy)
	}
	if c.LivenessProbe != nil || s.ReadinessProbe != nil || c.ReadinessProbe == nil || c.ReadinessProbe.SuccessThreshold != 2 {
		t.Errorf("probes not as configured: controller liveness %v readiness %v, speaker readiness %v", c.LivenessProbe, c.ReadinessProbe, s.ReadinessProbe)
	}
	if ps := ds.Spec.Template.Spec; len(ps.Tolerations) != 1 || ps.PriorityClassName != "system-node-critical" || ps.NodeSelector["example.com/lb"] != "true" {
		t.Errorf("speaker scheduling: tolerations %v priority %q nodeSelector %v", ps.Tolerations, ps.PriorityClassName, ps.NodeSelector)
	}
	if *dep.Spec.Replicas != 3 || dep.Spec.Template.Spec.ServiceAccountName != "lb-ctrl" || dep.Name != "lb-controller" {
		t.Errorf("controller: %d replicas, account %s, name %s", *dep.Spec.Replicas, dep.Spec.Template.Spec.ServiceAccountName, dep.Name)
	}
	if dep.Spec.Template.Annotations["prometheus.io/port"] != "9472" {
		t.Errorf("controller scrape annotations: %v", dep.Spec.Template.Annotations)
	}
	ns := byKind(objs, "Namespace")[0]
	if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "privileged" || ns.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Errorf("namespace %s: labels %v annotations %v", ns.GetName(), ns.GetLabels(), ns.GetAnnotations())
	}
	for _, kind := range []string{"PodMonitor", "ServiceMonitor"} {
		for _, m := range byKind(objs, kind) {
			b, _ := yaml.Marshal(m.Object["spec"])
			component := m.GetLabels()["app.kubernetes.io/component"]
			if !strings.Contains(string(b), "replacement: barelb-"+component) {
				t.Errorf("%s %s does not set job=barelb-%s, which the alerts select on:\n%s", kind, m.GetName(), component, b)
			}
		}
	}

	dash, err := os.ReadFile(filepath.Join(chartDir, "dashboards", "barelb.json"))
	if err != nil {
		t.Fatal(err)
	}
	cm := byKind(objs, "ConfigMap")[0]
	if data, _, _ := unstructured.NestedString(cm.Object, "data", "barelb.json"); data != strings.TrimRight(string(dash), "\n") || cm.GetNamespace() != "monitoring" || cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("dashboard ConfigMap %s/%s (labels %v) does not hold dashboards/barelb.json", cm.GetNamespace(), cm.GetName(), cm.GetLabels())
	}

	rule := byKind(objs, "PrometheusRule")[0]
	var spec struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert  string            `json:"alert"`
				Labels map[string]string `json:"labels"`
			} `json:"rules"`
		} `json:"groups"`
	}
	b, _ := yaml.Marshal(rule.Object["spec"])
	if err := yaml.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, g := range spec.Groups {
		for _, r := range g.Rules {
			got[r.Alert] = r.Labels
		}
	}
	file := ruleFile(t)
	for _, a := range file {
		_, ok := got[a]
		if want := a != "BarelbAnnouncerFlapping"; ok != want {
			t.Errorf("alert %s rendered %v, want %v", a, ok, want)
		}
	}
	if l := got["BarelbBGPSessionDown"]; l["severity"] != "warning" || l["team"] != "net" {
		t.Errorf("BarelbBGPSessionDown labels %v, want the values' severity and team", l)
	}
	if _, ok := got["BarelbExampleExtra"]; !ok {
		t.Error("extraAlerts not rendered")
	}
	// Every alert can be switched by a key the schema knows.
	for _, a := range file {
		key := alertKey(a)
		if _, err := helm(t, "template", "x", chartDir, "--set", "prometheus.prometheusRule.enabled=true", "--set", "prometheus.prometheusRule."+key+".enabled=false"); err != nil {
			t.Errorf("alert %s: key %s: %v", a, key, err)
		}
	}
}

// alertKey is MetalLB's style of values key for an alert:
// BarelbBGPSessionDown → bgpSessionDown.
func alertKey(alert string) string {
	name := strings.TrimPrefix(alert, "Barelb")
	for _, acronym := range []string{"BGP", "IP"} {
		if strings.HasPrefix(name, acronym) {
			return strings.ToLower(acronym) + name[len(acronym):]
		}
	}
	return strings.ToLower(name[:1]) + name[1:]
}

// TestSchemaRefuses: a wrong value fails `helm template` with a message
// naming it, for each kind of mistake the schema knows.
func TestSchemaRefuses(t *testing.T) {
	cases := []struct {
		set  []string
		want string
	}{
		{[]string{"--set", "speaker.memberlist.mlBindPort=gossip"}, "/speaker/memberlist/mlBindPort"},
		{[]string{"--set", "speaker.memberlist.mlBindPort=70000"}, "/speaker/memberlist/mlBindPort"},
		{[]string{"--set", "speaker.memberlist.probeInterval=fast"}, "/speaker/memberlist/probeInterval"},
		{[]string{"--set", "speaker.handover=2"}, "/speaker/handover"},
		{[]string{"--set", "speaker.restartInPlace.hold=15"}, "/speaker/restartInPlace/hold"},
		{[]string{"--set", "speaker.restartInPlace.hostPath=run/barelb"}, "/speaker/restartInPlace/hostPath"},
		{[]string{"--set", "controller.logLevel=warn"}, "/controller/logLevel"},
		{[]string{"--set", "controller.replicaz=2"}, "replicaz"},
		{[]string{"--set", "controller.replicas=0"}, "/controller/replicas"},
		{[]string{"--set", "image.pullPolicy=Sometimes"}, "/image/pullPolicy"},
		{[]string{"--set-json", `speaker.ignoreInterfaces=["eth0,eth1"]`}, "/speaker/ignoreInterfaces/0"},
		{[]string{"--set", "speaker.ignoreInterfaces=mgmt0"}, "/speaker/ignoreInterfaces"},
		{[]string{"--set", "prometheus.prometheusRule.noSuchAlert.enabled=false"}, "noSuchAlert"},
		{[]string{"--set", "controller.extraArgs[0]=workers=3"}, "/controller/extraArgs/0"},
		{[]string{"--set", "networkpolicies.apiPort=https"}, "/networkpolicies/apiPort"},
	}
	for _, tc := range cases {
		_, err := helm(t, append([]string{"template", "x", chartDir}, tc.set...)...)
		if err == nil {
			t.Errorf("%v: accepted", tc.set)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "values don't meet the specifications") || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: want a schema error naming %s, got %v", tc.set, tc.want, err)
		}
	}
}
