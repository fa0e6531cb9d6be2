package kclient

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// EventRecorder records an Event about an object: the method of
// client-go's events.EventRecorder, so the controller's recorder fits too.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any)
}

// Recorder posts events.k8s.io/v1 Events from one goroutine, so a
// reconcile never waits on one. Events are advisory: when the queue is
// full (the API server unreachable for long), new ones are dropped and
// logged. Repetition is the caller's to avoid (Teller).
type Recorder struct {
	d         *Direct
	log       logr.Logger
	component string
	instance  string
	queue     chan *eventsv1.Event
}

// maxNote is the API server's limit on an Event's note.
const maxNote = 1024

// NewRecorder returns a Recorder reporting as component; Run posts.
func NewRecorder(d *Direct, log logr.Logger, component string) *Recorder {
	host, _ := os.Hostname()
	return &Recorder{d: d, log: log, component: component, instance: component + "-" + host, queue: make(chan *eventsv1.Event, 256)}
}

// Eventf queues an Event about regarding (and related, if not nil).
func (r *Recorder) Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	ref, err := r.reference(regarding)
	if err != nil {
		r.log.Error(err, "no reference for an Event's object; not recorded", "reason", reason)
		return
	}
	msg := fmt.Sprintf(note, args...)
	if len(msg) > maxNote {
		msg = msg[:maxNote-3] + "..."
	}
	now := time.Now()
	ns := ref.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	ev := &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: fmt.Sprintf("%s.%x", ref.Name, now.UnixNano()), Namespace: ns},
		EventTime:           metav1.NewMicroTime(now),
		ReportingController: r.component,
		ReportingInstance:   r.instance,
		Action:              action,
		Reason:              reason,
		Regarding:           *ref,
		Note:                msg,
		Type:                eventtype,
	}
	if related != nil {
		if rel, err := r.reference(related); err == nil {
			ev.Related = rel
		}
	}
	select {
	case r.queue <- ev:
	default:
		r.log.Info("event queue full; Event dropped", "reason", reason, "object", ref.Namespace+"/"+ref.Name)
	}
}

func (r *Recorder) reference(obj runtime.Object) (*corev1.ObjectReference, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	gvk := obj.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		gvks, _, err := r.d.scheme.ObjectKinds(obj)
		if err != nil {
			return nil, err
		}
		gvk = gvks[0]
	}
	apiVersion, kind := gvk.ToAPIVersionAndKind()
	return &corev1.ObjectReference{
		APIVersion: apiVersion, Kind: kind, Namespace: m.GetNamespace(), Name: m.GetName(),
		UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(),
	}, nil
}

// Run posts queued Events until ctx ends; what is still queued then is
// posted within a second or dropped.
func (r *Recorder) Run(ctx context.Context) {
	post := func(ctx context.Context, ev *eventsv1.Event) {
		if err := r.d.Create(ctx, ev); err != nil && ctx.Err() == nil {
			r.log.V(1).Info("posting an Event", "reason", ev.Reason, "error", err.Error())
		}
	}
	for {
		select {
		case ev := <-r.queue:
			post(ctx, ev)
		case <-ctx.Done():
			drain, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			for {
				select {
				case ev := <-r.queue:
					post(drain, ev)
				default:
					return
				}
			}
		}
	}
}
