package barelb_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// same fails when two files differ.
func same(t *testing.T, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Errorf("%v: run make manifests", err)
		return
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs from %s: run make manifests", got, want)
	}
}

// TestInstallUpgradeUninstall installs the chart with the real helm into
// the test API server (objects only: no kubelet runs the Pods here), then
// upgrades it: the memberlist key made on install must survive the upgrade
// (lookup), since speakers of two revisions must keep understanding each
// other. Uninstall leaves the CRDs and nothing of the release.
func TestInstallUpgradeUninstall(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	kc := kubeconfig(t, env)
	const ns = "lb-install"
	if err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "privileged"}}}); err != nil {
		t.Fatal(err)
	}
	if out, err := helm(t, "install", "barelb", chartDir, "--kubeconfig", kc, "--namespace", ns); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	key := func() string {
		t.Helper()
		var s corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "barelb-memberlist"}, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.Data["secretkey"]) < 32 {
			t.Fatalf("memberlist key of %d bytes", len(s.Data["secretkey"]))
		}
		return string(s.Data["secretkey"])
	}
	first := key()
	if out, err := helm(t, "upgrade", "barelb", chartDir, "--kubeconfig", kc, "--namespace", ns, "--set", "speaker.logLevel=debug"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if key() != first {
		t.Error("helm upgrade replaced the memberlist key; speakers of the old and new revision could not gossip")
	}
	var ds unstructured.Unstructured
	ds.SetGroupVersionKind(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "DaemonSet"})
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "barelb-speaker"}, &ds); err != nil {
		t.Fatal(err)
	}
	args, _, _ := unstructured.NestedSlice(ds.Object, "spec", "template", "spec", "containers")
	if !strings.Contains(strings.Join(strings.Fields(toString(args)), " "), "--zap-log-level=debug") {
		t.Errorf("the upgrade did not reach the DaemonSet: %v", args)
	}

	if out, err := helm(t, "uninstall", "barelb", "--kubeconfig", kc, "--namespace", ns); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, gvk := range []schema.GroupVersionKind{
		{Version: "v1", Kind: "Secret"}, {Version: "v1", Kind: "ServiceAccount"},
		{Group: "apps", Version: "v1", Kind: "Deployment"}, {Group: "apps", Version: "v1", Kind: "DaemonSet"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"},
	} {
		var l unstructured.UnstructuredList
		l.SetGroupVersionKind(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
		if err := env.Client.List(ctx, &l, client.MatchingLabels{"app.kubernetes.io/instance": "barelb", "app.kubernetes.io/managed-by": "Helm"}); err != nil {
			t.Fatal(err)
		}
		for _, o := range l.Items {
			if o.GetNamespace() == ns || o.GetNamespace() == "" {
				t.Errorf("after uninstall: %s %s/%s remains", gvk.Kind, o.GetNamespace(), o.GetName())
			}
		}
	}
	var crd unstructured.Unstructured
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "ipaddresspools.metallb.io"}, &crd); err != nil {
		t.Errorf("after uninstall the CRDs stay (Helm's convention): %v", err)
	}
}

// TestInstallRefusesRestrictedNamespace: a namespace that enforces a Pod
// Security level the speaker cannot meet fails the install at once, with
// the command that fixes it, instead of leaving a DaemonSet without Pods.
func TestInstallRefusesRestrictedNamespace(t *testing.T) {
	env := apiServer(t)
	ctx := context.Background()
	kc := kubeconfig(t, env)
	const ns = "lb-baseline"
	err := env.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	_, err = helm(t, "install", "lb-ctl", chartDir, "--kubeconfig", kc, "--namespace", ns)
	if err == nil {
		t.Fatal("helm install into a baseline namespace succeeded")
	}
	if !strings.Contains(err.Error(), `enforces Pod Security level "baseline"`) || !strings.Contains(err.Error(), "kubectl label namespace "+ns) {
		t.Errorf("want the Pod Security refusal with its fix, got %v", err)
	}
	// The controller alone needs no privilege.
	if out, err := helm(t, "install", "lb-ctl", chartDir, "--kubeconfig", kc, "--namespace", ns, "--set", "speaker.enabled=false"); err != nil {
		t.Errorf("controller-only install into a baseline namespace: %v\n%s", err, out)
	}
}

func toString(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x + " ")
		}
	}
	walk(v)
	return b.String()
}
