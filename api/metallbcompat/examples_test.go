package metallbcompat_test

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/testenv"
)

// minObjects guards the glob: the suite must not pass by finding nothing.
const minObjects = 80

// TestMetalLBExamplesAccepted sends every MetalLB example, server-side with
// dry run and strict field validation, to a kube-apiserver serving
// barelb's CRDs: each must be accepted, and a metallb.io object must draw
// no warning except the deprecation notice of BGPPeer v1beta1.
func TestMetalLBExamplesAccepted(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx := context.Background()
	var w warnings
	c := clientWithWarnings(t, env.Config, client.Options{Scheme: crkube.Scheme()}, &w)
	// The examples live in metallb-system; a dry run still needs the
	// namespace to exist.
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "metallb-system"}}); err != nil {
		t.Fatal(err)
	}

	ms := readManifests(t, "testdata/examples")
	if len(ms) < minObjects {
		t.Fatalf("found %d example objects, want at least %d", len(ms), minObjects)
	}
	kinds := map[string]int{}
	for _, m := range ms {
		w.take()
		err := apply(ctx, c, m, "metallb-docs", client.DryRunAll)
		if err != nil {
			t.Errorf("%s refused: %v", describe(m), err)
			continue
		}
		kinds[m.obj.GetKind()]++
		if !isMetalLB(m) {
			continue
		}
		for _, warn := range w.take() {
			if !strings.Contains(warn, "v1beta1 BGPPeer is deprecated") {
				t.Errorf("%s: warning %q", describe(m), warn)
			}
		}
	}
	// The harness itself: strict validation is on, so a field no schema
	// has is refused, not dropped.
	bad := manifest{file: "unknown-field", obj: ms[0].obj.DeepCopy()}
	bad.obj.Object["spec"] = map[string]any{"addresses": []any{"198.18.0.0/24"}, "bogusField": true}
	bad.obj.SetKind("IPAddressPool")
	bad.obj.SetAPIVersion("metallb.io/v1beta1")
	if err := apply(ctx, c, bad, "metallb-docs", client.DryRunAll); err == nil || !strings.Contains(err.Error(), "bogusField") {
		t.Errorf("an unknown field was not refused: %v", err)
	}
	// Every kind an operator writes is exercised.
	for _, k := range []string{"IPAddressPool", "L2Advertisement", "BGPAdvertisement", "BGPPeer", "Community", "BFDProfile"} {
		if kinds[k] == 0 {
			t.Errorf("no %s among the accepted examples", k)
		}
	}
	t.Logf("accepted %d objects from %d examples: %v", len(ms), countFiles(ms), kinds)
}

func countFiles(ms []manifest) int {
	seen := map[string]bool{}
	for _, m := range ms {
		seen[m.file] = true
	}
	return len(seen)
}
