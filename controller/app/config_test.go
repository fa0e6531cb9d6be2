package app_test

import (
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/testsupport/check"
)

// TestConfigurationProblemsReported: an overlapping pool and an
// advertisement naming a missing pool are reported on the objects and in
// ConfigurationState, and the valid pool keeps serving.
func TestConfigurationProblemsReported(t *testing.T) {
	f := newFixture(t)
	f.pool("old", nil, "198.18.22.0/24")
	f.svc("before")
	ip := f.assigned("before")
	newer := f.pool("newer", nil, "198.18.22.128/25")
	adv := &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "adv"},
		Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"old", "ghost"}}}
	check.Must(t, f.c.Create(f.ctx, adv))

	var cs v1beta1.ConfigurationState
	if err := check.Poll(10*time.Second, func() bool {
		if f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs) != nil {
			return false
		}
		e := cs.Status.ErrorSummary
		return cs.Status.Result == v1beta1.ConfigurationStateInvalid && strings.Contains(e, `"newer"`) && strings.Contains(e, `"old"`) && strings.Contains(e, `"ghost"`)
	}); err != nil {
		t.Fatalf("ConfigurationState = %+v", cs.Status)
	}
	f.waitEvent(f.cfgNS, "newer", "InvalidConfiguration", "overlaps")
	f.waitEvent(f.cfgNS, "adv", "InvalidConfiguration", "ghost")
	if err := check.Poll(10*time.Second, func() bool {
		_ = f.c.Get(f.ctx, client.ObjectKeyFromObject(newer), newer)
		c := meta.FindStatusCondition(newer.Status.Conditions, "Valid")
		return c != nil && c.Status == metav1.ConditionFalse && strings.Contains(c.Message, "overlaps")
	}); err != nil {
		t.Fatalf("pool conditions = %+v", newer.Status.Conditions)
	}
	// The valid pool still serves, and the existing address did not move.
	f.svc("after")
	f.waitIPs("after", inRange("198.18.22.0", "198.18.22.255"), "valid pool stopped serving")
	if got := f.assigned("before"); got[0] != ip[0] {
		t.Fatalf("existing address moved: %s -> %s", ip[0], got[0])
	}

	// Fixing the problem makes the state Valid again.
	check.Must(t, f.c.Delete(f.ctx, newer))
	check.Must(t, f.c.Delete(f.ctx, adv))
	if err := check.Poll(10*time.Second, func() bool {
		_ = f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs)
		return cs.Status.Result == v1beta1.ConfigurationStateValid && cs.Status.ErrorSummary == ""
	}); err != nil {
		t.Fatalf("ConfigurationState after fix = %+v", cs.Status)
	}
}

// TestOneEventPerChange: reconciling a Service again and again (label
// edits, a configuration change that requeues every Service) does not
// repeat its Event.
func TestOneEventPerChange(t *testing.T) {
	f := newFixture(t)
	f.pool("p", nil, "198.18.23.0/28")
	s := f.svc("quiet")
	f.assigned("quiet")
	f.waitEvent(f.ns, "quiet", "IPAllocated", "")
	for i := 0; i < 3; i++ {
		check.Must(t, f.c.Get(f.ctx, client.ObjectKeyFromObject(s), s))
		s.Labels = map[string]string{"nudge": strings.Repeat("x", i+1)}
		check.Must(t, f.c.Update(f.ctx, s))
	}
	// A new pool requeues every Service; the marker Service, created after,
	// is assigned only once that pass is under way.
	f.pool("q", nil, "198.18.23.64/28")
	f.svc("marker")
	f.assigned("marker")
	n := 0
	for _, e := range f.events(f.ns, "quiet") {
		if e.Reason == "IPAllocated" {
			n++
			if e.Series != nil && e.Series.Count > 1 {
				t.Errorf("IPAllocated event repeated %d times", e.Series.Count)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d IPAllocated events, want 1", n)
	}
}

// TestConfigurationProblemReportedAgainWhenItReturns: a problem that is
// fixed and later comes back gets a new Event (the controller once keyed
// these Events by message and never forgot them).
func TestConfigurationProblemReportedAgainWhenItReturns(t *testing.T) {
	f := newFixture(t)
	f.pool("base", nil, "198.18.24.0/24")
	adv := func() *v1beta1.L2Advertisement {
		return &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "adv"},
			Spec: v1beta1.L2AdvertisementSpec{IPAddressPools: []string{"ghost"}}}
	}
	count := func() int {
		n := 0
		for _, e := range f.events(f.cfgNS, "adv") {
			if e.Reason == "InvalidConfiguration" && strings.Contains(e.Note, "ghost") {
				n++
				if e.Series != nil {
					n += int(e.Series.Count) - 1
				}
			}
		}
		return n
	}
	a := adv()
	check.Must(t, f.c.Create(f.ctx, a))
	f.waitEvent(f.cfgNS, "adv", "InvalidConfiguration", "ghost")
	// Fixed: the advertisement now names the existing pool.
	check.Must(t, f.c.Get(f.ctx, client.ObjectKeyFromObject(a), a))
	a.Spec.IPAddressPools = []string{"base"}
	check.Must(t, f.c.Update(f.ctx, a))
	var cs v1beta1.ConfigurationState
	check.Must(t, check.Poll(10*time.Second, func() bool {
		return f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs) == nil && cs.Status.Result == v1beta1.ConfigurationStateValid
	}))
	// Broken again, the same way.
	check.Must(t, f.c.Get(f.ctx, client.ObjectKeyFromObject(a), a))
	a.Spec.IPAddressPools = []string{"ghost"}
	check.Must(t, f.c.Update(f.ctx, a))
	if err := check.Poll(10*time.Second, func() bool { return count() >= 2 }); err != nil {
		t.Fatalf("the returning problem got %d Events in all, want 2", count())
	}
}

// TestStraysAndNotesReported: a configuration object outside barelb's
// namespace is reported on the object and in the ConfigurationState; a
// pool written with host bits says, in its condition and an Event, how it
// was read.
func TestStraysAndNotesReported(t *testing.T) {
	f := newFixture(t, func(f *fixture) { f.strays = true })
	stray := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "stray"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.23.0/24"}}}
	check.Must(t, f.c.Create(f.ctx, stray))
	hostBits := f.pool("hostbits", nil, "198.18.24.10/24")

	var cs v1beta1.ConfigurationState
	if err := check.Poll(10*time.Second, func() bool {
		if f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs) != nil {
			return false
		}
		return strings.Contains(cs.Status.ErrorSummary, `IPAddressPool "`+f.ns+`/stray": this IPAddressPool is in namespace "`+f.ns+`"`)
	}); err != nil {
		t.Fatalf("ConfigurationState = %+v", cs.Status)
	}
	f.waitEvent(f.ns, "stray", "InvalidConfiguration", `barelb reads configuration only from "`+f.cfgNS+`"`)
	f.waitEvent(f.cfgNS, "hostbits", "AddressesRead", "198.18.24.10/24 read as 198.18.24.0/24")
	if err := check.Poll(10*time.Second, func() bool {
		_ = f.c.Get(f.ctx, client.ObjectKeyFromObject(hostBits), hostBits)
		c := meta.FindStatusCondition(hostBits.Status.Conditions, "Valid")
		return c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "read as 198.18.24.0/24")
	}); err != nil {
		t.Fatalf("pool conditions = %+v", hostBits.Status.Conditions)
	}
}

// TestWarningKeepsConfigurationValid: disableMP has no effect; the peer
// is used, the ConfigurationState stays Valid and says so, and the peer
// gets a Warning Event.
func TestWarningKeepsConfigurationValid(t *testing.T) {
	f := newFixture(t)
	peer := &v1beta2.BGPPeer{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "tor"},
		Spec: v1beta2.BGPPeerSpec{MyASN: 64512, ASN: 64500, Address: "198.18.0.1", DisableMP: true}}
	check.Must(t, f.c.Create(f.ctx, peer))
	var cs v1beta1.ConfigurationState
	if err := check.Poll(10*time.Second, func() bool {
		if f.c.Get(f.ctx, client.ObjectKey{Namespace: f.cfgNS, Name: "controller"}, &cs) != nil {
			return false
		}
		c := meta.FindStatusCondition(cs.Status.Conditions, "Valid")
		return cs.Status.Result == v1beta1.ConfigurationStateValid && cs.Status.ErrorSummary == "" &&
			c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "disableMP has no effect")
	}); err != nil {
		t.Fatalf("ConfigurationState = %+v", cs.Status)
	}
	f.waitEvent(f.cfgNS, "tor", "ConfigurationWarning", "disableMP has no effect")
}
