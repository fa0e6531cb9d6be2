package app_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/testsupport/check"
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
	edited := f.pool("edited", func(p *v1beta1.IPAddressPool) { p.Spec.AutoAssign = ptr.To(false) }, "198.18.26.0/28")
	f.svc("kept", func(s *corev1.Service) { s.Annotations = map[string]string{"metallb.io/address-pool": "edited"} })
	keptIP := f.waitIPs("kept", inRange("198.18.26.0", "198.18.26.15"), "no address from pool edited")

	bad := env.StoreUndecodableConfig(f.ctx, t, f.cfgNS)
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

	// A pool in use stored undecodable later: it is left out like a pool
	// edited into an invalid one, and the address assigned from it stays.
	check.Must(t, env.StoreUnchecked(f.ctx, map[string]any{
		"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
		"metadata": map[string]any{"namespace": f.cfgNS, "name": "edited", "uid": string(edited.UID),
			"creationTimestamp": edited.CreationTimestamp.UTC().Format(time.RFC3339), "generation": int64(2)},
		"spec": map[string]any{"addresses": "198.18.26.0/28"},
	}))
	names = append(names, `IPAddressPool "edited"`)
	reported()
	f.svc("late")
	f.waitIPs("late", inRange("198.18.25.0", "198.18.25.255"), "no address from the good pool after another pool became undecodable")
	if got := f.assigned("kept"); got[0] != keptIP[0] {
		t.Fatalf("the address from the pool that became undecodable moved: %s -> %s", keptIP[0], got[0])
	}
}
