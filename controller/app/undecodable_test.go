package app_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// Objects of every configuration kind stored past the API server's
// validation, each with a field that does not decode, neither stall the
// controller nor take anything else down: while it runs and after a
// restart (a fresh cache), a new Service gets an address from the good
// pool, the existing one keeps its address, and each bad object is named
// in the ConfigurationState and gets a Warning Event.
func TestUndecodableStoredObjectsReported(t *testing.T) {
	f := newFixture(t)
	f.pool("good", nil, "198.18.25.0/24")
	f.svc("before")
	ip := f.assigned("before")

	bad := testenv.UndecodableConfig(f.cfgNS)
	for _, obj := range bad {
		check.Must(t, env.StoreUnchecked(f.ctx, obj))
	}
	t.Cleanup(func() {
		for _, obj := range bad {
			_ = f.c.Delete(f.ctx, &unstructured.Unstructured{Object: obj})
		}
	})
	names := func() []string {
		var out []string
		for _, obj := range bad {
			out = append(out, obj["kind"].(string)+` "`+obj["metadata"].(map[string]any)["name"].(string)+`"`)
		}
		return out
	}()
	reported := func() {
		t.Helper()
		var cs v1beta1.ConfigurationState
		if err := check.Poll(15*time.Second, func() bool {
			if f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs) != nil || cs.Status.Result != v1beta1.ConfigurationStateInvalid {
				return false
			}
			for _, n := range names {
				if !strings.Contains(cs.Status.ErrorSummary, n+": the stored object cannot be read") {
					return false
				}
			}
			return true
		}); err != nil {
			t.Fatalf("ConfigurationState does not name every undecodable object: %+v", cs.Status)
		}
	}

	reported()
	f.waitEvent(f.cfgNS, "bad-ipaddresspool", "InvalidConfiguration", "spec.avoidBuggyIPs")
	f.waitEvent(f.cfgNS, "bad-bgppeer", "InvalidConfiguration", "spec.myASN")
	f.waitEvent(f.cfgNS, "bad-bfdprofile", "InvalidConfiguration", "spec.receiveInterval")
	f.svc("during")
	f.waitIPs("during", inRange("198.18.25.0", "198.18.25.255"), "no address from the good pool with bad objects stored")

	// A fresh cache, with the bad objects there from the first List.
	f.stop()
	f.startController()
	f.svc("after-restart")
	f.waitIPs("after-restart", inRange("198.18.25.0", "198.18.25.255"), "no address from the good pool after a restart")
	reported()
	if got := f.assigned("before"); got[0] != ip[0] {
		t.Fatalf("existing address moved: %s -> %s", ip[0], got[0])
	}
}
