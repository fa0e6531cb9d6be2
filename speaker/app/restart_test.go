package app

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
)

// The word a replaced speaker leaves is taken once, and only while valid.
func TestRestartWord(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	if resumed, err := takeWord(dir, "n1", now); err != nil || resumed {
		t.Fatalf("no word: resumed %v, %v", resumed, err)
	}
	check.Must(t, leaveWord(dir, "n1", now.Add(10*time.Second)))
	check.Must(t, leaveWord(dir, "n2", now.Add(-time.Second))) // expired
	if resumed, err := takeWord(dir, "n2", now); err != nil || resumed {
		t.Errorf("expired word: resumed %v, %v", resumed, err)
	}
	if resumed, err := takeWord(dir, "n1", now); err != nil || !resumed {
		t.Errorf("valid word: resumed %v, %v", resumed, err)
	}
	if resumed, _ := takeWord(dir, "n1", now); resumed {
		t.Error("the word was taken twice: a later restart of the successor would not settle")
	}
	check.Must(t, os.WriteFile(restartMarker(dir, "n3"), []byte("garbage"), 0o600))
	if resumed, err := takeWord(dir, "n3", now); err == nil || resumed {
		t.Errorf("garbled word: resumed %v, %v; want an error and no resume", resumed, err)
	}
	if resumed, err := takeWord("", "n1", now); err != nil || resumed {
		t.Errorf("no state dir: resumed %v, %v", resumed, err)
	}
}

// An exit is a planned restart only when the DaemonSet's template changed
// since the speaker started and the DaemonSet stays.
func TestPlannedRestart(t *testing.T) {
	ctx := context.Background()
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: "barelb-speaker", Generation: 3}}
	c := fake.NewClientBuilder().WithScheme(crkube.Scheme()).WithObjects(ds).Build()
	opts := Options{Namespace: testNS, NodeName: "n1", DaemonSet: "barelb-speaker", StateDir: t.TempDir(), RestartHold: 15 * time.Second}
	p := &plannedRestart{api: crkube.Reader(c), opts: opts, log: logr.Discard()}
	if ok, _ := p.planned(ctx); ok {
		t.Error("planned before the start generation is known")
	}
	p.start(ctx)
	if ok, why := p.planned(ctx); ok {
		t.Errorf("planned with the template unchanged (a deleted Pod, a node going): %s", why)
	}
	ds.Generation = 4
	check.Must(t, c.Update(ctx, ds))
	if ok, why := p.planned(ctx); !ok || why == "" {
		t.Errorf("not planned after the template changed (a rolling update)")
	}
	check.Must(t, c.Delete(ctx, ds))
	if ok, _ := p.planned(ctx); ok {
		t.Error("planned with the DaemonSet gone (an uninstall)")
	}
	for name, o := range map[string]Options{
		"no hold":      {Namespace: testNS, DaemonSet: "barelb-speaker", StateDir: "/run/x"},
		"no state dir": {Namespace: testNS, DaemonSet: "barelb-speaker", RestartHold: time.Second},
		"no daemonset": {Namespace: testNS, StateDir: "/run/x", RestartHold: time.Second},
		"no memberlist": {Namespace: testNS, DaemonSet: "barelb-speaker", StateDir: "/run/x", RestartHold: time.Second,
			MemberlistDisabled: true},
	} {
		if (&plannedRestart{opts: o}).enabled() {
			t.Errorf("%s: planned restarts enabled", name)
		}
	}
}
