package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/events"
)

func drain(rec *events.FakeRecorder) int {
	n := 0
	for {
		select {
		case <-rec.Events:
			n++
		default:
			return n
		}
	}
}

// Forgetting one IP's topic must not forget another IP that ends with the
// same characters: the speaker once keyed Events by key+ip and forgot by
// suffix, so stopping 1.2.3.4 repeated 11.2.3.4's Event.
func TestTellerForgetTopicIsExact(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	tl := NewTeller(rec)
	svc := &corev1.Service{}
	a := EventKey{Kind: "Service", Namespace: "ns", Name: "s", Topic: "1.2.3.4"}
	b := EventKey{Kind: "Service", Namespace: "ns", Name: "s", Topic: "11.2.3.4"}
	tl.Tell(svc, a, corev1.EventTypeNormal, "r", "a", "announcing 1.2.3.4")
	tl.Tell(svc, b, corev1.EventTypeNormal, "r", "a", "announcing 11.2.3.4")
	if n := drain(rec); n != 2 {
		t.Fatalf("%d events, want 2", n)
	}
	tl.ForgetTopic("1.2.3.4")
	if tl.Tell(svc, b, corev1.EventTypeNormal, "r", "a", "announcing 11.2.3.4") {
		t.Fatal("11.2.3.4's Event was sent again after forgetting 1.2.3.4")
	}
	if !tl.Tell(svc, a, corev1.EventTypeNormal, "r", "a", "announcing 1.2.3.4") {
		t.Fatal("1.2.3.4's Event was not sent again after it was forgotten")
	}
}

func TestTellerOncePerChangeAndRetain(t *testing.T) {
	rec := events.NewFakeRecorder(10)
	tl := NewTeller(rec)
	svc := &corev1.Service{}
	k := EventKey{Kind: "IPAddressPool", Name: "p", Topic: "overlap"}
	for i := 0; i < 3; i++ {
		tl.Tell(svc, k, corev1.EventTypeWarning, "r", "a", "overlaps")
	}
	if n := drain(rec); n != 1 {
		t.Fatalf("%d events for one unchanged message, want 1", n)
	}
	if !tl.Tell(svc, k, corev1.EventTypeWarning, "r", "a", "overlaps more") {
		t.Fatal("a changed message was not sent")
	}
	tl.Retain(func(EventKey) bool { return false })
	if tl.Len() != 0 {
		t.Fatalf("Retain(false) kept %d keys", tl.Len())
	}
	tl.Tell(svc, k, corev1.EventTypeWarning, "r", "a", "x")
	tl.ForgetObject("IPAddressPool", "", "p")
	if tl.Len() != 0 {
		t.Fatal("ForgetObject left the object's key")
	}
}
