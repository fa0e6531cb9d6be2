// Package testenv starts a real kube-apiserver and etcd (controller-runtime's
// envtest) with barelb's CRDs installed, for integration tests and
// benchmarks. Binaries come from KUBEBUILDER_ASSETS, or are built and
// cached by hack/tools.sh when it is unset, so `go test ./...` works on a
// fresh clone.
package testenv

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/barelb/barelb/internal/kube/crkube"
)

// Env is a running control plane.
type Env struct {
	Config *rest.Config
	Client client.Client
	env    *envtest.Environment
}

// RepoRoot is the module root, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Assets returns the directory holding etcd and kube-apiserver.
func Assets() (string, error) {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d, nil
	}
	out, err := exec.Command(filepath.Join(RepoRoot(), "hack", "tools.sh"), "envtest").Output()
	if err != nil {
		return "", fmt.Errorf("building envtest binaries with hack/tools.sh: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Start brings up etcd and kube-apiserver with barelb's CRDs. Service
// cluster IPs come from the lab ranges and the cluster is dual-stack, so
// every ipFamilyPolicy can be exercised.
func Start() (*Env, error) {
	assets, err := Assets()
	if err != nil {
		return nil, err
	}
	e := &envtest.Environment{
		BinaryAssetsDirectory: assets,
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		// The default 20s is too short when several test packages start
		// their API servers at once on 2 cores (kube-apiserver then needs
		// 20-40s to get ready).
		ControlPlaneStartTimeout: 90 * time.Second,
		ControlPlaneStopTimeout:  30 * time.Second,
		Scheme:                   crkube.Scheme(),
	}
	// A throwaway etcd need not survive power loss; without fsync every
	// write is not paced by this machine's disk. BARELB_ETCD_FSYNC=1 keeps
	// fsync, for measuring with durable writes.
	if os.Getenv("BARELB_ETCD_FSYNC") == "" {
		if e.ControlPlane.Etcd == nil {
			e.ControlPlane.Etcd = &envtest.Etcd{}
		}
		e.ControlPlane.Etcd.Configure().Set("unsafe-no-fsync", "true")
	}
	api := e.ControlPlane.GetAPIServer()
	api.Configure().Set("service-cluster-ip-range", "198.19.0.0/16,2001:db8:ffff::/112")
	cfg, err := e.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	c, err := client.New(cfg, client.Options{Scheme: crkube.Scheme()})
	if err != nil {
		_ = e.Stop()
		return nil, err
	}
	return &Env{Config: cfg, Client: c, env: e}, nil
}

// Main runs a test package's tests against one control plane: Start,
// into *env, then m's tests, then Stop. For TestMain.
func Main(m *testing.M, env **Env) {
	e, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*env = e
	code := m.Run()
	_ = e.Stop()
	os.Exit(code)
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }

// StoreUnchecked writes obj straight into etcd, past the API server's
// validation, as an object written through an older or looser CRD (or
// by hand) is stored: for tests of how barelb reads objects its own CRD
// would refuse. obj names its apiVersion, kind, namespace and name; a
// missing uid, creationTimestamp and generation are filled in. The API
// server's watch sees the write like any other, so informers get it.
// Delete the object through the API server as usual.
//
// It uses etcd's JSON gateway (POST /v3/kv/put), so tests need no etcd
// client; custom resources are stored as JSON under
// /registry/<group>/<resource>/<namespace>/<name>.
func (e *Env) StoreUnchecked(ctx context.Context, obj map[string]any) error {
	u := unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	m, err := e.Client.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return fmt.Errorf("mapping %s: %w", gvk, err)
	}
	if u.GetUID() == "" {
		u.SetUID(uuid.NewUUID())
	}
	if ts := u.GetCreationTimestamp(); ts.IsZero() {
		u.SetCreationTimestamp(metav1.Now())
	}
	if u.GetGeneration() == 0 {
		u.SetGeneration(1)
	}
	value, err := json.Marshal(u.Object)
	if err != nil {
		return err
	}
	key := "/registry/" + m.Resource.Group + "/" + m.Resource.Resource + "/"
	if u.GetNamespace() != "" {
		key += u.GetNamespace() + "/"
	}
	key += u.GetName()
	body, _ := json.Marshal(map[string]string{
		"key":   base64.StdEncoding.EncodeToString([]byte(key)),
		"value": base64.StdEncoding.EncodeToString(value),
	})
	etcdURL := e.env.ControlPlane.Etcd.URL
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, etcdURL.String()+"/v3/kv/put", bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("writing %s to etcd: %w", key, err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("writing %s to etcd: %s: %s", key, resp.Status, reply)
	}
	return nil
}
