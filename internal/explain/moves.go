package explain

import (
	"regexp"
	"sort"
	"time"
)

// Moved IPs come from the Events the speakers already send: a speaker that
// starts answering for an address sends one nodeAssigned Event on the
// Service, `announcing IP from node "N" on IFACES with protocol "layer2"`,
// once per change (kube.Teller). A move is two such Events for one IP
// naming different nodes. Why Events and not a history in the speakers'
// ConfigurationStates: the Events are written anyway, so the report costs
// the speakers no write and the API server one List (field selector
// reason=nodeAssigned), while a history would add a write per move to
// objects that are otherwise written only when the current state changes.
// The price is Events' limits: they live an hour (the API server's
// --event-ttl, hence "recently"), and a burst may be rate limited, so a
// move can be missing but none is invented. BGP announcements do not move
// (every selected node advertises), so only layer 2 is reported.

// MovedLine is one address that changed announcing node.
type MovedLine struct {
	IP      string `json:"ip"`
	Service string `json:"service"`
	From    string `json:"from"`
	To      string `json:"to"`
	Age     string `json:"age"`
	at      time.Time
}

// ReasonNodeAssigned is the speakers' Event reason (MetalLB's).
const ReasonNodeAssigned = "nodeAssigned"

var assignedNote = regexp.MustCompile(`^announcing (\S+) from node "([^"]+)" .*protocol "layer2"`)

// moves lists, per IP, its latest move among the Events: newest first.
func moves(c *Cluster) []MovedLine {
	type seen struct {
		node, svc string
		at        time.Time
	}
	byIP := map[string][]seen{}
	for i := range c.AssignEvents {
		e := &c.AssignEvents[i]
		m := assignedNote.FindStringSubmatch(e.Note)
		if e.Reason != ReasonNodeAssigned || e.Regarding.Kind != "Service" || m == nil {
			continue
		}
		svc := e.Regarding.Namespace + "/" + e.Regarding.Name
		// A series is one Event seen again: its first and last sighting
		// both count (A, B, A again shows as A's series).
		if e.Series != nil && !e.EventTime.IsZero() {
			byIP[m[1]] = append(byIP[m[1]], seen{m[2], svc, e.EventTime.Time})
		}
		byIP[m[1]] = append(byIP[m[1]], seen{m[2], svc, lastSeen(e)})
	}
	var out []MovedLine
	for ip, ss := range byIP {
		sort.SliceStable(ss, func(i, j int) bool { return ss[i].at.Before(ss[j].at) })
		for k := len(ss) - 1; k > 0; k-- {
			if ss[k].node != ss[k-1].node {
				out = append(out, MovedLine{IP: ip, Service: ss[k].svc, From: ss[k-1].node, To: ss[k].node, Age: age(c.Now, ss[k].at), at: ss[k].at})
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].at.Equal(out[j].at) {
			return out[i].at.After(out[j].at)
		}
		return out[i].IP < out[j].IP
	})
	return out
}
