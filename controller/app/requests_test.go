package app_test

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/internal/lbspec"
	"github.com/barelb/barelb/testsupport/check"
)

// writeCounter counts the API writes (method and resource path, names
// left out) a client makes.
type writeCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		if req.Method != http.MethodGet {
			w.mu.Lock()
			w.counts[req.Method+" "+resourceOf(req.URL.Path)]++
			w.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// resourceOf is a request path's resource and subresource, without
// namespaces and names: /api/v1/namespaces/x/services/y/status ->
// services/status.
func resourceOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	var out []string
	for i := 0; i < len(parts); i++ {
		switch {
		case parts[i] == "namespaces" && i+1 < len(parts):
			i++ // the namespace's name
		case parts[i] == "api" || parts[i] == "apis" || strings.HasPrefix(parts[i], "v1") || strings.Contains(parts[i], "."):
		default:
			out = append(out, parts[i])
		}
	}
	// Keep the resource and subresource: every other element is a name.
	var kept []string
	for i, p := range out {
		if i%2 == 0 {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "/")
}

func (w *writeCounter) snapshot() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string]int{}
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

// TestWritesPerNewService counts the controller's API writes for a
// backlog of pending Services on a real API server: a new assignment
// costs one status patch that carries the ip-allocated-from-pool
// annotation too, and one Event; nothing else.
func TestWritesPerNewService(t *testing.T) {
	w := &writeCounter{counts: map[string]int{}}
	f := newFixture(t, func(f *fixture) {
		cfg := rest.CopyConfig(env.Config)
		cfg.WrapTransport = w.wrap
		f.cfg = cfg
	})
	f.pool("p", nil, "198.18.40.0/24")
	if err := check.Poll(10*time.Second, func() bool { return w.snapshot()["PUT ipaddresspools/status"] > 0 }); err != nil {
		t.Fatalf("the pool's status is not written: %v (writes %v)", err, w.snapshot())
	}
	const n = 50
	before := w.snapshot()
	for i := range n {
		f.svc(fmt.Sprintf("s%d", i))
	}
	for i := range n {
		f.waitIPs(fmt.Sprintf("s%d", i), one, "no address")
	}
	// Every Event is out once each Service has one.
	check.Must(t, check.Poll(10*time.Second, func() bool {
		d := diff(w.snapshot(), before)
		return d["POST events"] >= n
	}))
	d := diff(w.snapshot(), before)
	var lines []string
	for k, v := range d {
		lines = append(lines, fmt.Sprintf("%s %.2f", k, float64(v)/n))
	}
	sort.Strings(lines)
	t.Logf("API writes per new Service (%d Services):\n  %s", n, strings.Join(lines, "\n  "))
	if d["PATCH services/status"] != n || d["PATCH services"] != 0 || d["POST events"] != n {
		t.Errorf("writes for %d new Services: %v; want one status patch (with the annotation) and one Event each", n, d)
	}
	var svc corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "s0"}, &svc))
	if got := svc.Annotations[lbspec.Prefix+lbspec.KeyAllocatedFromPool]; got != "p" {
		t.Errorf("annotation %s = %q after the one write, want p", lbspec.KeyAllocatedFromPool, got)
	}
}

func diff(after, before map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range after {
		if d := v - before[k]; d != 0 {
			out[k] = d
		}
	}
	return out
}
