package explain

import (
	"sort"

	"github.com/barelb/barelb/internal/lbspec"
)

// StatusReport is `status`: the speakers, the BGP sessions, and the
// addresses nobody announces.
type StatusReport struct {
	Speakers    []SpeakerLine     `json:"speakers"`
	Sessions    []SessionLine     `json:"sessions,omitempty"`
	Unannounced []UnannouncedLine `json:"unannounced,omitempty"`
	// Moved are the IPs whose layer 2 announcer changed within the
	// Events' lifetime (an hour by default), newest first.
	Moved []MovedLine `json:"moved,omitempty"`
}

// SpeakerLine is one node's speaker as its ConfigurationState tells.
type SpeakerLine struct {
	Node string `json:"node"`
	// Reporting is false when the node has no speaker ConfigurationState.
	Reporting  bool     `json:"reporting"`
	Config     string   `json:"config,omitempty"`
	Error      string   `json:"error,omitempty"`
	Announcing int      `json:"announcing"`
	Alive      []string `json:"alive,omitempty"`
	Suspect    []string `json:"suspect,omitempty"`
	Dead       []string `json:"dead,omitempty"`
	// Memberlist is false when the speaker runs without memberlist.
	Memberlist bool `json:"memberlist"`
}

// SessionLine is one BGP session a node's speaker reports (Node set,
// Type "Session"), or one condition a BGPPeer reports.
type SessionLine struct {
	Node    string `json:"node,omitempty"`
	Peer    string `json:"peer"`
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message,omitempty"`
}

// UnannouncedLine is an assigned address with no ServiceL2Status or
// ServiceBGPStatus: no node answers for it.
type UnannouncedLine struct {
	IP      string `json:"ip"`
	Service string `json:"service"`
}

// Status builds the report.
func Status(c *Cluster) *StatusReport {
	r := &StatusReport{}
	states := c.speakerStates()
	for _, n := range c.Nodes {
		l := SpeakerLine{Node: n.Name}
		if st := states[n.Name]; st != nil {
			l.Reporting, l.Config, l.Error = true, string(st.Status.Result), st.Status.ErrorSummary
			for _, a := range st.Status.Announcements {
				if a.Announced {
					l.Announcing++
				}
			}
			for _, a := range st.Status.BGPAnnouncements {
				if a.Advertised {
					l.Announcing++
				}
			}
			for _, s := range st.Status.BGPSessions {
				line := SessionLine{Node: n.Name, Peer: s.Peer, Type: "Session", Status: "Established", Reason: s.Address}
				if !s.Established {
					line.Status, line.Message = "NotEstablished", s.Message
				}
				r.Sessions = append(r.Sessions, line)
			}
			if m := st.Status.Members; m != nil {
				l.Memberlist, l.Alive, l.Suspect, l.Dead = true, m.Alive, m.Suspect, m.Dead
			}
		}
		r.Speakers = append(r.Speakers, l)
	}
	sort.Slice(r.Speakers, func(i, j int) bool { return r.Speakers[i].Node < r.Speakers[j].Node })
	for _, p := range c.Peers {
		for _, cond := range p.Status.Conditions {
			r.Sessions = append(r.Sessions, SessionLine{Peer: p.Name, Type: cond.Type, Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message})
		}
	}
	announced := map[string]bool{}
	for _, s := range c.L2Statuses {
		announced[s.Status.ServiceNamespace+"/"+s.Status.ServiceName] = true
	}
	for _, s := range c.BGPStatuses {
		announced[s.Status.ServiceNamespace+"/"+s.Status.ServiceName] = true
	}
	for i := range c.Services {
		svc := &c.Services[i]
		if !lbspec.Handles(svc, c.LBClass) || announced[lbspec.Key(svc)] {
			continue
		}
		for _, ip := range lbspec.IngressIPs(svc) {
			r.Unannounced = append(r.Unannounced, UnannouncedLine{IP: ip.String(), Service: lbspec.Key(svc)})
		}
	}
	sort.Slice(r.Unannounced, func(i, j int) bool { return r.Unannounced[i].IP < r.Unannounced[j].IP })
	r.Moved = moves(c)
	return r
}
