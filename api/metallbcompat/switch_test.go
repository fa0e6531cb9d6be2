package metallbcompat_test

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/testenv"
)

var crdGVK = schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}

// TestSwitchFromMetalLB replaces MetalLB in place with the real kubectl,
// as an operator would: MetalLB v0.16.1's CRDs are installed (BGPPeer
// converting through MetalLB's webhook, which no longer runs once MetalLB
// is removed), a peer is stored, and barelb's CRDs are applied over them
// with `kubectl apply --server-side --force-conflicts`. Afterwards the old
// peer and new ones are read and written through v1beta1 and v1beta2; no
// webhook exists, so every conversion is the API server's own.
//
// Server-side apply keeps fields that another manager set and barelb's
// CRD does not mention, and MetalLB's webhook settings are such fields
// however MetalLB was installed (kubectl's hand-over of client-side
// fields runs only after an apply succeeds). The API server refuses
// strategy None beside them, so the apply alone fails loudly, naming
// spec.conversion; one merge patch of spec.conversion first makes it
// succeed. Both install paths are checked: MetalLB's documented
// `kubectl apply -f metallb-native.yaml`, and CRDs written by another
// manager (Helm, a GitOps tool).
func TestSwitchFromMetalLB(t *testing.T) {
	for _, tc := range []struct {
		name    string
		install func(t *testing.T, s *plain)
	}{
		{"installed-with-kubectl-apply", func(t *testing.T, s *plain) { s.kubectl(t, "apply", "-f", "testdata/crds") }},
		{"installed-by-another-manager", func(t *testing.T, s *plain) {
			for _, m := range readManifests(t, "testdata/crds") {
				if err := s.c.Create(context.Background(), m.obj.DeepCopy(), client.FieldOwner("helm")); err != nil {
					t.Fatalf("installing MetalLB's %s: %v", m.obj.GetName(), err)
				}
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startPlain(t)
			tc.install(t, s)
			s.storePeerUnderMetalLB(t)
			out, err := s.run("apply", "--server-side", "--force-conflicts", "-f", s.barelbCRDs)
			if err == nil || !strings.Contains(out, "spec.conversion") {
				t.Fatalf("apply over MetalLB's BGPPeer CRD alone: err=%v, output %s; want a refusal naming spec.conversion", err, out)
			}
			// The two commands as README.md's migration section writes them.
			_, patch := migrationStep(t, "patch", "crd", "bgppeers.metallb.io")
			_, apply := migrationStep(t, "apply", "--server-side", "--force-conflicts", "-f")
			s.kubectl(t, patch...)
			s.kubectl(t, apply...)
			s.checkSwitched(t)
		})
	}
}

// SwitchConversionPatch is the merge patch that drops MetalLB's conversion
// webhook from the BGPPeer CRD before barelb's CRDs are applied (the
// migration step: kubectl patch crd bgppeers.metallb.io --type=merge -p ...).
const SwitchConversionPatch = `{"spec":{"conversion":{"strategy":"None","webhook":null}}}`

const ns = "metallb-system"

// plain is a control plane with no CRDs, a client and a kubectl for it.
type plain struct {
	c    client.Client
	kctl interface {
		Run(...string) (io.Reader, io.Reader, error)
	}
	barelbCRDs string
}

func startPlain(t *testing.T) *plain {
	t.Helper()
	assets, err := testenv.Assets()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: crkube.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	admin, err := env.ControlPlane.AddUser(envtest.User{Name: "switch-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	k, err := admin.Kubectl()
	if err != nil {
		t.Fatal(err)
	}
	k.Path = filepath.Join(assets, "kubectl")
	return &plain{c: c, kctl: k, barelbCRDs: filepath.Join(testenv.RepoRoot(), "config", "crd", "bases")}
}

// run runs kubectl and returns its combined output.
func (s *plain) run(args ...string) (string, error) {
	stdout, stderr, err := s.kctl.Run(args...)
	var b strings.Builder
	_, _ = io.Copy(&b, stdout)
	_, _ = io.Copy(&b, stderr)
	return b.String(), err
}

func (s *plain) kubectl(t *testing.T, args ...string) {
	t.Helper()
	if out, err := s.run(args...); err != nil {
		t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// storePeerUnderMetalLB waits for MetalLB's CRDs, stores a peer as MetalLB
// would (v1beta2, its storage version) and checks the starting point:
// with MetalLB's webhook gone, the peer cannot be read as v1beta1.
func (s *plain) storePeerUnderMetalLB(t *testing.T) {
	t.Helper()
	waitEstablished(t, s.c, readManifests(t, "testdata/crds"))
	stored := &v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "tor"},
		Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64513, Address: "198.18.9.1"}}
	ctx := context.Background()
	if err := s.c.Create(ctx, stored); err != nil {
		t.Fatalf("creating a peer under MetalLB's CRD: %v", err)
	}
	if err := s.c.Get(ctx, client.ObjectKeyFromObject(stored), &v1beta1.BGPPeer{}); err == nil || !strings.Contains(err.Error(), "conversion webhook") {
		t.Fatalf("reading v1beta1 under MetalLB's CRD without its webhook: err = %v, want a conversion webhook failure", err)
	}
}

// checkSwitched checks, after barelb's CRDs went over MetalLB's, that
// BGPPeer converts without a webhook and that the stored peer and new
// ones read and write through both versions.
func (s *plain) checkSwitched(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	c := s.c
	waitEstablished(t, c, readManifests(t, s.barelbCRDs))
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(crdGVK)
	if err := c.Get(ctx, client.ObjectKey{Name: "bgppeers.metallb.io"}, crd); err != nil {
		t.Fatal(err)
	}
	conv, _, _ := unstructured.NestedMap(crd.Object, "spec", "conversion")
	if conv["strategy"] != "None" || conv["webhook"] != nil {
		t.Fatalf("BGPPeer CRD conversion after the switch = %v, want strategy None and no webhook", conv)
	}
	key := client.ObjectKey{Namespace: ns, Name: "tor"}

	// The API server swaps its converter for the new CRD asynchronously:
	// wait until the stored peer reads as v1beta1.
	var old v1beta1.BGPPeer
	eventually(t, 30*time.Second, func() error { return c.Get(ctx, key, &old) })
	if old.Spec.MyASN != 64512 || old.Spec.ASN != 64513 || old.Spec.Address != "198.18.9.1" {
		t.Fatalf("stored peer through v1beta1: %+v", old.Spec)
	}
	old.Spec.HoldTime = &metav1.Duration{Duration: 90 * time.Second}
	if err := c.Update(ctx, &old); err != nil {
		t.Fatalf("updating the stored peer through v1beta1: %v", err)
	}

	// New peers through each version, with 4-byte ASNs and localASN, each
	// read and written through the other version.
	legacy := &v1beta1.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "legacy"},
		Spec: v1beta1.BGPPeerSpec{MyASN: 4200000001, ASN: 4200000002, Address: "198.18.9.2"}}
	if err := c.Create(ctx, legacy); err != nil {
		t.Fatalf("creating a v1beta1 peer: %v", err)
	}
	current := &v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "current"},
		Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 4200000003, LocalASN: 4200000004, Address: "2001:db8::9"}}
	if err := c.Create(ctx, current); err != nil {
		t.Fatalf("creating a v1beta2 peer: %v", err)
	}
	var asV2 v1beta2.BGPPeer
	if err := c.Get(ctx, client.ObjectKeyFromObject(legacy), &asV2); err != nil {
		t.Fatal(err)
	}
	if asV2.Spec.MyASN != 4200000001 || asV2.Spec.ASN != 4200000002 {
		t.Fatalf("v1beta1 peer through v1beta2: %+v", asV2.Spec)
	}
	asV2.Spec.ConnectTime = &metav1.Duration{Duration: 5 * time.Second}
	if err := c.Update(ctx, &asV2); err != nil {
		t.Fatalf("updating the v1beta1 peer through v1beta2: %v", err)
	}
	var asV1 v1beta1.BGPPeer
	if err := c.Get(ctx, client.ObjectKeyFromObject(current), &asV1); err != nil {
		t.Fatal(err)
	}
	if asV1.Spec.ASN != 4200000003 || asV1.Spec.Address != "2001:db8::9" {
		t.Fatalf("v1beta2 peer through v1beta1: %+v", asV1.Spec)
	}
	asV1.Spec.Password = "from-v1beta1"
	if err := c.Update(ctx, &asV1); err != nil {
		t.Fatalf("updating the v1beta2 peer through v1beta1: %v", err)
	}

	// Lists through both versions see all three, with every write kept.
	var l1 v1beta1.BGPPeerList
	var l2 v1beta2.BGPPeerList
	if err := c.List(ctx, &l1, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if err := c.List(ctx, &l2, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(l1.Items) != 3 || len(l2.Items) != 3 {
		t.Fatalf("listed %d peers as v1beta1 and %d as v1beta2, want 3 each", len(l1.Items), len(l2.Items))
	}
	byName := map[string]v1beta2.BGPPeer{}
	for _, p := range l2.Items {
		byName[p.Name] = p
	}
	if h := byName["tor"].Spec.HoldTime; h == nil || h.Duration != 90*time.Second {
		t.Errorf("tor holdTime = %v, want the 90s written through v1beta1", h)
	}
	if ct := byName["legacy"].Spec.ConnectTime; ct == nil || ct.Duration != 5*time.Second {
		t.Errorf("legacy connectTime = %v, want the 5s written through v1beta2", ct)
	}
	// A write through v1beta1 says only what v1beta1 can say, so fields of
	// v1beta2 alone (localASN here) go, as with MetalLB's own conversion.
	if p := byName["current"].Spec; p.Password != "from-v1beta1" || p.ASN != 4200000003 {
		t.Errorf("current = %+v, want the password written through v1beta1", p)
	}
}

// waitEstablished waits until every CRD in crds is Established.
func waitEstablished(t *testing.T, c client.Client, crds []manifest) {
	t.Helper()
	for _, m := range crds {
		eventually(t, 30*time.Second, func() error {
			crd := &unstructured.Unstructured{}
			crd.SetGroupVersionKind(crdGVK)
			if err := c.Get(context.Background(), client.ObjectKey{Name: m.obj.GetName()}, crd); err != nil {
				return err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, x := range conds {
				if cond, ok := x.(map[string]any); ok && cond["type"] == "Established" && cond["status"] == "True" {
					return nil
				}
			}
			return fmt.Errorf("CRD %s not established", m.obj.GetName())
		})
	}
}

// eventually polls f until it returns nil, failing the test at the deadline.
func eventually(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %v", timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
