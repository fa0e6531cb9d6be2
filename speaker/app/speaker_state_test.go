package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
)

// countStateWrites wraps c to count the ConfigurationState writes
// (creates and status updates) in *writes.
func countStateWrites(c client.WithWatch, writes *int) client.WithWatch {
	return countWrites(c, writes, func(o client.Object) bool {
		_, ok := o.(*v1beta1.ConfigurationState)
		return ok
	})
}

// countStatusObjectWrites counts in *writes every write of a per-IP
// status object (ServiceL2Status, ServiceBGPStatus).
func countStatusObjectWrites(c client.WithWatch, writes *int) client.WithWatch {
	return countWrites(c, writes, func(o client.Object) bool {
		switch o.(type) {
		case *v1beta1.ServiceL2Status, *v1beta1.ServiceBGPStatus:
			return true
		}
		return false
	})
}

// countWrites wraps c to count in *writes the writes of the objects
// counted selects: creates, updates, patches and deletes, of the objects
// or their status.
func countWrites(c client.WithWatch, writes *int, counted func(client.Object) bool) client.WithWatch {
	count := func(o client.Object) {
		if counted(o) {
			*writes++
		}
	}
	return interceptor.NewClient(c, interceptor.Funcs{
		Create: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.CreateOption) error {
			count(o)
			return c.Create(ctx, o, opts...)
		},
		Update: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.UpdateOption) error {
			count(o)
			return c.Update(ctx, o, opts...)
		},
		Patch: func(ctx context.Context, c client.WithWatch, o client.Object, p client.Patch, opts ...client.PatchOption) error {
			count(o)
			return c.Patch(ctx, o, p, opts...)
		},
		Delete: func(ctx context.Context, c client.WithWatch, o client.Object, opts ...client.DeleteOption) error {
			count(o)
			return c.Delete(ctx, o, opts...)
		},
		SubResourceUpdate: func(ctx context.Context, c client.Client, sub string, o client.Object, opts ...client.SubResourceUpdateOption) error {
			count(o)
			return c.SubResource(sub).Update(ctx, o, opts...)
		},
		SubResourcePatch: func(ctx context.Context, c client.Client, sub string, o client.Object, p client.Patch, opts ...client.SubResourcePatchOption) error {
			count(o)
			return c.SubResource(sub).Patch(ctx, o, p, opts...)
		},
	})
}

// withState gives the fixture's reconciler a ConfigurationState writer
// and memberlist view, and returns a counter of the writes it makes.
func (f *l2Fixture) withState(view map[string]string) *int {
	writes := new(int)
	c := countStateWrites(f.c.(client.WithWatch), writes)
	f.r.state = &speakerState{Client: crkube.Client(c), api: crkube.Reader(c), opts: f.r.opts}
	f.r.view = func() map[string]string { return view }
	return writes
}

func (f *l2Fixture) configurationState() v1beta1.ConfigurationState {
	f.t.Helper()
	var cs v1beta1.ConfigurationState
	check.Must(f.t, f.c.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: f.r.opts.NodeName}, &cs))
	return cs
}

// Each speaker's ConfigurationState says, per LoadBalancer IP, whether it
// announces it and why not (naming the winner of a lost election), and
// its memberlist view; it is written once per change, not per reconcile.
func TestSpeakerConfigurationState(t *testing.T) {
	web, webEP := lbService("web", "198.18.62.5", "n1")
	local, localEP := lbService("local", "198.18.62.6", "n2")
	local.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
	var nodes []client.Object
	for _, n := range []string{"n1", "n2", "n3"} {
		o := node(n)
		o.UID = types.UID("uid-" + n)
		nodes = append(nodes, o)
	}
	objs := append([]client.Object{pool("p", time.Now(), "198.18.62.0/24"), l2adv("all"), web, webEP, local, localEP}, nodes...)
	alive := map[string]bool{"n1": true, "n2": true}
	view := map[string]string{"n1": "alive", "n2": "alive"}
	states := map[string]v1beta1.ConfigurationState{}
	writes := map[string]*int{}
	for _, n := range []string{"n1", "n2"} {
		f := newL2Fixture(t, n, objs...)
		f.alive = alive
		writes[n] = f.withState(view)
		f.reconcile()
		f.reconcile()
		states[n] = f.configurationState()
	}
	for n, cs := range states {
		if cs.Labels[LabelComponentType] != "speaker" || cs.Labels[LabelNodeName] != n || cs.Status.Result != v1beta1.ConfigurationStateValid {
			t.Errorf("%s: labels %v result %q", n, cs.Labels, cs.Status.Result)
		}
		// Owned by its Node, so it goes when the Node does.
		if o := cs.OwnerReferences; len(o) != 1 || o[0].Kind != "Node" || o[0].Name != n || o[0].UID != types.UID("uid-"+n) {
			t.Errorf("%s: owners %+v", n, o)
		}
		if m := cs.Status.Members; m == nil || len(m.Alive) != 2 || len(m.Dead) != 1 || m.Dead[0] != "n3" {
			t.Errorf("%s: members %+v, want n1 n2 alive and n3 dead", n, m)
		}
		// One create and one status write for two identical reconciles.
		if *writes[n] != 2 {
			t.Errorf("%s: %d ConfigurationState writes, want 2", n, *writes[n])
		}
	}
	byIP := func(n string) map[string]v1beta1.AnnouncementState {
		out := map[string]v1beta1.AnnouncementState{}
		for _, a := range states[n].Status.Announcements {
			out[a.IP] = a
		}
		return out
	}
	n1, n2 := byIP("n1"), byIP("n2")
	if a := n1["198.18.62.6"]; a.Announced || a.Reason != "NoLocalEndpoint" {
		t.Errorf("n1 on the Local Service's IP: %+v", a)
	}
	if a := n2["198.18.62.6"]; !a.Announced {
		t.Errorf("n2 on the Local Service's IP: %+v", a)
	}
	// web: exactly one of the two wins; the other names it.
	w1, w2 := n1["198.18.62.5"], n2["198.18.62.5"]
	winner, loser, loserName := "n1", w2, "n2"
	if w2.Announced {
		winner, loser, loserName = "n2", w1, "n1"
	}
	if w1.Announced == w2.Announced || loser.Reason != "NotElected" || loser.Winner != winner {
		t.Errorf("web: n1 %+v, n2 %+v; want one announcing and %s naming it", w1, w2, loserName)
	}
}

// A configuration problem makes the speaker's verdict Invalid with the
// problem in errorSummary.
func TestSpeakerConfigurationStateInvalid(t *testing.T) {
	bad := pool("bad", time.Now(), "not-an-address")
	f := newL2Fixture(t, "n1", bad, node("n1"))
	f.alive = map[string]bool{"n1": true}
	f.withState(nil)
	f.reconcile()
	cs := f.configurationState()
	if cs.Status.Result != v1beta1.ConfigurationStateInvalid || cs.Status.ErrorSummary == "" || cs.Status.Members != nil {
		t.Fatalf("status %+v", cs.Status)
	}
}

// At 1,000 IPs the ConfigurationState stays one object per speaker: a
// reconcile that changes nothing writes nothing, a change costs one write
// however many IPs it touches, and the object stays far below etcd's
// 1.5 MB limit.
func TestSpeakerConfigurationStateCostAt1000IPs(t *testing.T) {
	objs := []client.Object{pool("p", time.Now(), "198.18.64.0/22"), l2adv("all"), node("n1"), node("n2")}
	for i := 0; i < 1000; i++ {
		s, ep := lbService(fmt.Sprintf("s%d", i), fmt.Sprintf("198.18.%d.%d", 64+i/250, 1+i%250), "n1")
		objs = append(objs, s, ep)
	}
	f := newL2Fixture(t, "n1", objs...)
	f.rec = events.NewFakeRecorder(10000) // a nodeAssigned Event per IP
	f.r.tell = kube.NewTeller(f.rec)
	f.alive = map[string]bool{"n1": true, "n2": true}
	writes := f.withState(map[string]string{"n1": "alive", "n2": "alive"})
	f.reconcile()
	f.reconcile()
	if *writes != 2 {
		t.Fatalf("%d writes for the first two reconciles, want 2 (create, status)", *writes)
	}
	cs := f.configurationState()
	if len(cs.Status.Announcements) != 1000 {
		t.Fatalf("%d announcements, want 1000", len(cs.Status.Announcements))
	}
	b, err := json.Marshal(cs)
	check.Must(t, err)
	t.Logf("1,000 IPs: ConfigurationState is %d bytes (%d per IP)", len(b), len(b)/1000)
	if len(b) > 512<<10 {
		t.Errorf("ConfigurationState is %d bytes at 1,000 IPs", len(b))
	}
	// n2 dies: every IP n2 announced moves to n1 in one write.
	f.alive = map[string]bool{"n1": true}
	f.r.view = func() map[string]string { return map[string]string{"n1": "alive"} }
	f.reconcile()
	if *writes != 3 {
		t.Fatalf("%d writes after a failover, want 3", *writes)
	}
	if cs = f.configurationState(); cs.Status.Members == nil || len(cs.Status.Members.Dead) != 1 {
		t.Fatalf("members %+v", cs.Status.Members)
	}
}

// The two per-IP lists share one bound, so the object's size does not
// double when both modes are used: the BGP list gets what the layer 2 list
// leaves and counts the rest as omitted; IPs only BGP handles leave the
// layer 2 list.
func TestSpeakerStateListsShareTheBound(t *testing.T) {
	s := &speakerState{expectBGP: true}
	if s.merged() != nil {
		t.Fatal("merged before both parts are known")
	}
	var l2 []v1beta1.AnnouncementState
	for i := 0; i < maxAnnouncements-100; i++ {
		l2 = append(l2, v1beta1.AnnouncementState{IP: fmt.Sprintf("198.18.%d.%d", 64+i/250, i%250), Reason: "NotElected"})
	}
	// One IP only BGP handles: its layer 2 NoAdvertisement entry goes.
	l2 = append(l2, v1beta1.AnnouncementState{IP: "198.19.0.1", Reason: "NoAdvertisement"})
	s.l2 = &v1beta1.ConfigurationStateStatus{Announcements: l2}
	var part bgpPart
	for i := 0; i < 250; i++ {
		part.Announcements = append(part.Announcements, v1beta1.BGPAnnouncementState{IP: fmt.Sprintf("198.19.0.%d", i+1)})
	}
	s.bgp = &part
	s.bgpPool = func(ip netip.Addr) bool { return ip.As4()[1] == 19 }
	m := s.merged()
	if len(m.Announcements) != maxAnnouncements-100 || len(m.BGPAnnouncements) != 100 || m.BGPAnnouncementsOmitted != 150 {
		t.Errorf("layer 2 %d, BGP %d, omitted %d; want %d, 100, 150", len(m.Announcements), len(m.BGPAnnouncements), m.BGPAnnouncementsOmitted, maxAnnouncements-100)
	}
}
