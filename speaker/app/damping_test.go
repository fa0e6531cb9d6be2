package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/internal/members"
	"github.com/barelb/barelb/testsupport/check"
)

// TestLayer2SettlingNodeWaits: a node whose gossiped metadata says it is
// settling does not take an address from a settled node, says why in its
// ConfigurationState, and takes it once it has settled.
func TestLayer2SettlingNodeWaits(t *testing.T) {
	objs := []client.Object{pool("p", time.Now(), "198.18.60.0/24"), l2adv("all"), node("n1"), node("n2")}
	for i, a := range []string{"198.18.60.1", "198.18.60.2", "198.18.60.3", "198.18.60.4", "198.18.60.5", "198.18.60.6"} {
		svc, slice := lbService("web"+string(rune('a'+i)), a, "n1")
		objs = append(objs, svc, slice)
	}
	f := newL2Fixture(t, "n1", objs...)
	f.r.state = &speakerState{Client: crkube.Client(f.c), api: crkube.Reader(f.c), opts: f.r.opts}
	f.alive = map[string]bool{"n1": true, "n2": true}
	metas := map[string]members.NodeMeta{"n1": {Settling: true}}
	f.r.metas = func() map[string]members.NodeMeta { return metas }

	f.reconcile()
	if len(f.ann.set) != 0 {
		t.Fatalf("settling n1 announces %v while n2 is settled", f.ann.set)
	}
	var st v1beta1.ConfigurationState
	check.Must(t, f.c.Get(context.Background(), client.ObjectKey{Namespace: testNS, Name: "n1"}, &st))
	if len(st.Status.Announcements) != 6 || !strings.Contains(st.Status.Announcements[0].Message, "settles") {
		t.Fatalf("ConfigurationState announcements %+v: want 6, each saying n1 settles", st.Status.Announcements)
	}

	delete(metas, "n1")
	f.reconcile()
	if len(f.ann.set) == 0 || len(f.ann.set) == 6 {
		t.Fatalf("settled n1 announces %d of 6 addresses, want its share", len(f.ann.set))
	}
	// Only settling nodes eligible: they announce (damping never leaves
	// an address unannounced).
	metas["n1"], metas["n2"] = members.NodeMeta{Settling: true}, members.NodeMeta{Settling: true}
	f.reconcile()
	if len(f.ann.set) == 0 {
		t.Fatalf("with every node settling n1 announces nothing")
	}
}
