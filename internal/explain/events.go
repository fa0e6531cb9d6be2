package explain

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// maxEvents is how many of a Service's most recent Events are shown.
const maxEvents = 10

// eventsOf lists the Service's Events, oldest first, the latest maxEvents.
func eventsOf(c *Cluster, svc *corev1.Service) []EventLine {
	var evs []eventsv1.Event
	for _, e := range c.Events {
		if e.Regarding.Kind == "Service" && e.Regarding.Namespace == svc.Namespace && e.Regarding.Name == svc.Name {
			evs = append(evs, e)
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return lastSeen(&evs[i]).Before(lastSeen(&evs[j])) })
	if len(evs) > maxEvents {
		evs = evs[len(evs)-maxEvents:]
	}
	out := make([]EventLine, 0, len(evs))
	for i := range evs {
		e := &evs[i]
		out = append(out, EventLine{Age: age(c.Now, lastSeen(e)), Type: e.Type, Reason: e.Reason, Message: e.Note})
	}
	return out
}

func lastSeen(e *eventsv1.Event) time.Time {
	switch {
	case e.Series != nil:
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	case !e.DeprecatedLastTimestamp.IsZero():
		return e.DeprecatedLastTimestamp.Time
	}
	return e.CreationTimestamp.Time
}

// age prints like kubectl's AGE column.
func age(now, t time.Time) string {
	if t.IsZero() || now.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t))
}
