package barelb_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/config/deploy"
	"github.com/barelb/barelb/testsupport/testenv"
)

var (
	root      = testenv.RepoRoot()
	chartDir  = filepath.Join(root, "charts", "barelb")
	rulesFile = filepath.Join(chartDir, "rules", "barelb.rules.yaml")
)

// tool finds a pinned binary: in KUBEBUILDER_ASSETS when the Makefile set
// it to `hack/tools.sh dir` (which holds helm and promtool too), else from
// hack/tools.sh, which builds it on first use. Under CI a tool that cannot
// be had fails the test; elsewhere it skips, saying why.
func tool(t *testing.T, name string) string {
	t.Helper()
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		if p := filepath.Join(d, name); isExec(p) {
			return p
		}
	}
	out, err := exec.Command(filepath.Join(root, "hack", "tools.sh"), name).Output()
	p := strings.TrimSpace(string(out))
	if err == nil && isExec(p) {
		return p
	}
	msg := fmt.Sprintf("%s: hack/tools.sh %s: %v", name, name, err)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		msg += "\n" + string(ee.Stderr)
	}
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// helm runs the real helm with its caches and configuration in a temporary
// directory, so the test neither reads nor writes the user's.
func helm(t *testing.T, args ...string) (string, error) {
	t.Helper()
	home := helmHome(t)
	cmd := exec.Command(tool(t, "helm"), args...)
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}

var (
	helmHomeOnce sync.Once
	helmHomeDir  string
)

func helmHome(t *testing.T) string {
	helmHomeOnce.Do(func() {
		d, err := os.MkdirTemp("", "barelb-helm-")
		if err != nil {
			t.Fatal(err)
		}
		helmHomeDir = d
	})
	return helmHomeDir
}

// render is `helm template` of the chart; it fails the test on error.
func render(t *testing.T, release, ns string, args ...string) []*unstructured.Unstructured {
	t.Helper()
	out, err := helm(t, append([]string{"template", release, chartDir, "--namespace", ns}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decode(t, out)
}

// decode splits a multi-document YAML stream into objects.
func decode(t *testing.T, text string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := deploy.Decode(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func byKind(objs []*unstructured.Unstructured, kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// into converts an object to a typed one, refusing unknown fields.
func into(t *testing.T, u *unstructured.Unstructured, typed any) {
	t.Helper()
	b, err := yaml.Marshal(u.Object)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(b, typed); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}

// The API server is shared by the package's tests and stopped by TestMain.
var (
	envOnce sync.Once
	envErr  error
	theEnv  *testenv.Env
)

func TestMain(m *testing.M) {
	code := m.Run()
	if theEnv != nil {
		_ = theEnv.Stop()
	}
	if helmHomeDir != "" {
		_ = os.RemoveAll(helmHomeDir)
	}
	os.Exit(code)
}

// apiServer starts (once) a real kube-apiserver with barelb's CRDs and the
// minimal monitoring.coreos.com CRDs of testdata/, established.
func apiServer(t *testing.T) *testenv.Env {
	t.Helper()
	envOnce.Do(func() {
		theEnv, envErr = testenv.Start()
		if envErr != nil {
			return
		}
		envErr = installCRDs(theEnv.Client, filepath.Join(chartDir, "testdata", "monitoring-crds.yaml"))
	})
	if envErr != nil {
		t.Fatal(envErr)
	}
	return theEnv
}

func installCRDs(c client.Client, file string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	objs, err := deploy.Decode(f)
	if err != nil {
		return err
	}
	ctx := context.Background()
	for _, u := range objs {
		// Typed first, to refuse a malformed CRD; sent as unstructured,
		// since the test scheme does not know apiextensions.
		var crd apiextensionsv1.CustomResourceDefinition
		b, _ := yaml.Marshal(u.Object)
		if err := yaml.UnmarshalStrict(b, &crd); err != nil {
			return err
		}
		if err := c.Create(ctx, u); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("CRD %s: %w", crd.Name, err)
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, u := range objs {
		for !established(ctx, c, u.GetName()) {
			if time.Now().After(deadline) {
				return fmt.Errorf("CRD %s not established in 30s", u.GetName())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return nil
}

func established(ctx context.Context, c client.Client, name string) bool {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("apiextensions.k8s.io/v1")
	u.SetKind("CustomResourceDefinition")
	if err := c.Get(ctx, client.ObjectKey{Name: name}, u); err != nil {
		return false
	}
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, x := range conds {
		if m, ok := x.(map[string]any); ok && m["type"] == string(apiextensionsv1.Established) && m["status"] == string(apiextensionsv1.ConditionTrue) {
			return true
		}
	}
	return false
}

// kubeconfig writes a kubeconfig for the test API server's admin, for helm.
func kubeconfig(t *testing.T, env *testenv.Env) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	rc := env.Config
	cfg.Clusters["envtest"] = &clientcmdapi.Cluster{Server: rc.Host, CertificateAuthorityData: rc.CAData}
	cfg.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: rc.CertData, ClientKeyData: rc.KeyData, Token: rc.BearerToken}
	cfg.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	cfg.CurrentContext = "envtest"
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// ruleFile lists the alerts of rules/barelb.rules.yaml, in order.
func ruleFile(t *testing.T) []string {
	t.Helper()
	var f struct {
		Groups []struct {
			Rules []struct {
				Alert string `json:"alert"`
			} `json:"rules"`
		} `json:"groups"`
	}
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Alert)
		}
	}
	if len(out) == 0 {
		t.Fatal("no alerts in " + rulesFile)
	}
	return out
}
