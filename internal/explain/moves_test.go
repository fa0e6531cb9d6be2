package explain

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func assigned(svc, ip, node string, at time.Time) eventsv1.Event {
	return eventsv1.Event{Reason: ReasonNodeAssigned, EventTime: metav1.NewMicroTime(at),
		Regarding: corev1.ObjectReference{Kind: "Service", Namespace: "apps", Name: svc},
		Note:      `announcing ` + ip + ` from node "` + node + `" on eth0 with protocol "layer2"`}
}

// An IP moved when two of its nodeAssigned Events name different nodes;
// the latest move is reported, newest first; a series seen again counts
// at its last sighting; BGP Events and unmoved IPs are not moves.
func TestMoves(t *testing.T) {
	now := time.Now()
	back := assigned("a", "198.18.1.1", "n1", now.Add(-30*time.Minute))
	back.Series = &eventsv1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(now.Add(-1 * time.Minute))}
	c := &Cluster{Now: now, AssignEvents: []eventsv1.Event{
		back, // n1, then n2, then n1 again (the series)
		assigned("a", "198.18.1.1", "n2", now.Add(-10*time.Minute)),
		assigned("b", "198.18.1.2", "n3", now.Add(-20*time.Minute)),
		assigned("b", "198.18.1.2", "n1", now.Add(-5*time.Minute)),
		assigned("c", "198.18.1.3", "n1", now.Add(-5*time.Minute)), // never moved
		{Reason: ReasonNodeAssigned, Regarding: corev1.ObjectReference{Kind: "Service", Namespace: "apps", Name: "d"},
			Note: `announcing from node "n1" with protocol "bgp" to tor`},
	}}
	got := moves(c)
	if len(got) != 2 {
		t.Fatalf("moves %+v, want 2", got)
	}
	if m := got[0]; m.IP != "198.18.1.1" || m.From != "n2" || m.To != "n1" || m.Service != "apps/a" || m.Age != "60s" {
		t.Errorf("first %+v, want 198.18.1.1 n2 -> n1 60s ago", m)
	}
	if m := got[1]; m.IP != "198.18.1.2" || m.From != "n3" || m.To != "n1" {
		t.Errorf("second %+v", m)
	}
	var b strings.Builder
	Printer{W: &b}.Status(Status(c))
	if !strings.Contains(b.String(), "MOVED IP") || !strings.Contains(b.String(), "198.18.1.1   apps/a    n2     n1") {
		t.Errorf("status output:\n%s", b.String())
	}
}
