package app_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/testsupport/check"
)

// readCounter counts the reads (GETs that are not watches) a client sends
// per resource, and the 429 answers to them. (A watch refused with 429
// while the API server's cache warms up delays events only; the
// informer has synced by its LIST.)
type readCounter struct {
	mu       sync.Mutex
	reads    map[string]int
	tooMany  map[string]int
	allReads []string
}

func newReadCounter() *readCounter {
	return &readCounter{reads: map[string]int{}, tooMany: map[string]int{}}
}

func (r *readCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		read := req.Method == http.MethodGet && req.URL.Query().Get("watch") != "true"
		res := resourceOf(req.URL.Path)
		if read {
			r.mu.Lock()
			r.reads[res]++
			r.allReads = append(r.allReads, req.URL.RequestURI())
			r.mu.Unlock()
		}
		resp, err := rt.RoundTrip(req)
		if read && err == nil && resp.StatusCode == http.StatusTooManyRequests {
			r.mu.Lock()
			r.tooMany[req.Method+" "+res]++
			r.mu.Unlock()
		}
		return resp, err
	})
}

// TestConfigReadsServedFromCache: the controller reads the configuration
// kinds (in the restore before the first allocation, in every reload and in
// the pool status writer) and Services from its informers' cache, so the
// API server sees one LIST per kind, the informer's, and nothing else. Read directly
// (controller-runtime's client sends unstructured reads to the API server
// unless told otherwise), a fresh API server whose watch cache for a kind
// was still cold answered the restore's LIST with 429 and Retry-After: 1s,
// and the first address waited that second (issue #14); an informer's
// paginated LIST is served from etcd meanwhile.
func TestConfigReadsServedFromCache(t *testing.T) {
	rc := newReadCounter()
	f := newFixture(t, func(f *fixture) {
		cfg := rest.CopyConfig(env.Config)
		cfg.WrapTransport = rc.wrap
		f.cfg = cfg
		// Configuration before the controller starts, so the restore
		// has something to read.
		f.pool("p", nil, "198.18.41.0/24")
	})
	f.svc("web")
	f.assigned("web")
	// A change after the start: a reload, and the status writer lists
	// the pools again to write the new pool's counts.
	f.pool("q", nil, "198.18.42.0/24")
	check.Must(t, check.Poll(10*time.Second, func() bool {
		var q v1beta1.IPAddressPool
		err := f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "q"}, &q)
		return err == nil && q.Status.AvailableIPv4+q.Status.AssignedIPv4 == 256
	}))

	resources := []string{"services"} // restore's other read, typed
	for _, gvk := range kube.ConfigKinds {
		m, err := f.c.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		check.Must(t, err)
		resources = append(resources, m.Resource.Resource)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, res := range resources {
		if n := rc.reads[res]; n != 1 {
			var uris []string
			for _, u := range rc.allReads {
				if strings.Contains(u, "/"+res) {
					uris = append(uris, u)
				}
			}
			t.Errorf("%d reads of %s sent to the API server, want 1 (the informer's LIST):\n  %s", n, res, strings.Join(uris, "\n  "))
		}
	}
	if len(rc.tooMany) > 0 {
		t.Errorf("the controller was answered 429 (Retry-After): %v", rc.tooMany)
	}
}
