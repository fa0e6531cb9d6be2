package metallbcompat_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"
)

// manifest is one YAML document of a testdata file.
type manifest struct {
	file string // base name
	obj  *unstructured.Unstructured
}

// readManifests returns every document of every .yaml file in dir, in
// file order; documents holding only comments are skipped.
func readManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	var out []manifest
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
		for {
			doc, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			j, err := yaml.YAMLToJSON(doc)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
				continue // only comments
			}
			obj := &unstructured.Unstructured{}
			if err := obj.UnmarshalJSON(j); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, manifest{file: filepath.Base(f), obj: obj})
		}
	}
	return out
}

// apply sends m server-side as field manager owner, the way kubectl
// apply --server-side does: the document as written is the apply patch
// (only a missing namespace is filled in as "default"), so every field the
// user wrote reaches the API server and strict field validation refuses
// any its schema lacks.
func apply(ctx context.Context, c client.Client, m manifest, owner string, opts ...client.PatchOption) error {
	obj := m.obj.DeepCopy()
	if obj.GetNamespace() == "" {
		namespaced, err := c.IsObjectNamespaced(obj)
		if err != nil {
			return err
		}
		if namespaced {
			obj.SetNamespace("default")
		}
	}
	body, err := obj.MarshalJSON()
	if err != nil {
		return err
	}
	opts = append([]client.PatchOption{client.FieldOwner(owner), client.FieldValidation("Strict")}, opts...)
	return c.Patch(ctx, obj, client.RawPatch(types.ApplyYAMLPatchType, body), opts...)
}

// warnings records the API server's warnings, so a test can tell an
// accepted object from one accepted with a complaint.
type warnings struct {
	mu  sync.Mutex
	got []string
}

func (w *warnings) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.got = append(w.got, text)
}

// take returns and clears the warnings recorded so far.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.got
	w.got = nil
	return out
}

// clientWithWarnings is a client on cfg whose warnings go to w.
func clientWithWarnings(t *testing.T, cfg *rest.Config, opts client.Options, w *warnings) client.Client {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	cfg.WarningHandler, cfg.WarningHandlerWithContext = nil, w
	c, err := client.New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func describe(m manifest) string {
	return fmt.Sprintf("%s: %s %s/%s", m.file, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// isMetalLB reports whether a manifest is of a metallb.io kind.
func isMetalLB(m manifest) bool {
	return strings.HasPrefix(m.obj.GetAPIVersion(), "metallb.io/")
}

func TestMain(m *testing.M) {
	// envtest logs through controller-runtime; without a logger it prints
	// a stack trace saying so.
	log.SetLogger(logr.Discard())
	os.Exit(m.Run())
}
