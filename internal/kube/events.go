package kube

import (
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/barelb/barelb/internal/kclient"
)

// EventKey names what an Event is about: the object it is sent on and a
// topic within it (an IP, a BGP session, "allocation"). Keys are compared
// field by field, so forgetting the topic "1.2.3.4" never touches
// "11.2.3.4".
type EventKey struct {
	Kind, Namespace, Name string
	Topic                 string
}

// Teller sends an Event once per change of its message under a key, never
// once per reconcile, and forgets keys only when told to: reconcilers are
// level-based and run far more often than anything changes. Safe for
// concurrent use. Memory is one string per remembered key, so callers
// forget keys whose subject is gone (Forget, ForgetTopic, Retain).
type Teller struct {
	rec  kclient.EventRecorder
	mu   sync.Mutex
	told map[EventKey]string
}

// NewTeller returns a Teller sending through rec.
func NewTeller(rec kclient.EventRecorder) *Teller {
	return &Teller{rec: rec, told: map[EventKey]string{}}
}

// Tell sends the Event unless the last one under key had the same
// message, and reports whether it sent it.
func (t *Teller) Tell(obj runtime.Object, key EventKey, eventType, reason, action, msg string) bool {
	t.mu.Lock()
	if t.told[key] == msg {
		t.mu.Unlock()
		return false
	}
	t.told[key] = msg
	t.mu.Unlock()
	t.rec.Eventf(obj, nil, eventType, reason, action, "%s", msg)
	return true
}

// Forget makes the next Tell under key send again.
func (t *Teller) Forget(key EventKey) {
	t.mu.Lock()
	delete(t.told, key)
	t.mu.Unlock()
}

// ForgetObject forgets every topic of one object.
func (t *Teller) ForgetObject(kind, namespace, name string) {
	t.Retain(func(k EventKey) bool { return k.Kind != kind || k.Namespace != namespace || k.Name != name })
}

// ForgetTopic forgets one topic (exactly) on every object.
func (t *Teller) ForgetTopic(topic string) {
	t.Retain(func(k EventKey) bool { return k.Topic != topic })
}

// Retain forgets every key for which keep returns false: a level-based
// caller passes the keys that still apply, so a problem that is fixed and
// later comes back is news again.
func (t *Teller) Retain(keep func(EventKey) bool) {
	t.mu.Lock()
	for k := range t.told {
		if !keep(k) {
			delete(t.told, k)
		}
	}
	t.mu.Unlock()
}

// Len is the number of remembered keys (for tests and leak checks).
func (t *Teller) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.told)
}
