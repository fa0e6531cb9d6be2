package explain

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Printer writes reports as kubectl does: aligned columns, colour only
// when Color is set (the command sets it on a terminal).
type Printer struct {
	W     io.Writer
	Color bool
}

const (
	red   = "\x1b[31m"
	green = "\x1b[32m"
	reset = "\x1b[0m"
)

func (p Printer) paint(colour, s string) string {
	if !p.Color || s == "" {
		return s
	}
	return colour + s + reset
}

func (p Printer) yesNo(b bool) string {
	if b {
		return p.paint(green, "yes")
	}
	return p.paint(red, "no")
}

func (p Printer) table(header string, rows [][]string) {
	tw := tabwriter.NewWriter(p.W, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	_ = tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func dashList(s []string) string { return dash(strings.Join(s, ", ")) }

// Service prints `explain svc`.
func (p Printer) Service(r *ServiceReport) {
	w := p.W
	fmt.Fprintf(w, "Service:      %s/%s\n", r.Namespace, r.Name)
	fmt.Fprintf(w, "Class:        %s\n", dash(r.Request.Class))
	if !r.Handled {
		fmt.Fprintf(w, "Handled:      no\n")
	} else {
		q := r.Request
		fmt.Fprintf(w, "Families:     %s (%s)\n", dashList(q.Families), dash(q.Policy))
		fmt.Fprintf(w, "Requested IP: %s\n", dashList(q.RequestedIPs))
		fmt.Fprintf(w, "Pool asked:   %s\n", dash(q.Pool))
		fmt.Fprintf(w, "Sharing key:  %s\n", dash(q.SharingKey))
		if q.Invalid != "" {
			fmt.Fprintf(w, "Invalid:      %s\n", p.paint(red, q.Invalid))
		}
	}
	assigned := p.paint(red, "<pending>")
	if !r.Pending {
		assigned = strings.Join(r.Assigned, ", ")
		if r.AssignedFrom != "" {
			assigned += fmt.Sprintf(" (pool %s)", r.AssignedFrom)
		}
	}
	fmt.Fprintf(w, "Assigned:     %s\n", assigned)
	if c := r.Condition; c != nil {
		fmt.Fprintf(w, "Condition:    AddressAssigned=%s %s: %s\n", c.Status, c.Reason, c.Message)
	}
	if len(r.Pools) > 0 {
		fmt.Fprintln(w, "\nPools:")
		rows := make([][]string, 0, len(r.Pools))
		for _, v := range r.Pools {
			rows = append(rows, []string{"  " + v.Pool, p.yesNo(v.Usable), v.Reason})
		}
		p.table("  POOL\tUSABLE\tWHY", rows)
	}
	if len(r.Addresses) > 0 {
		fmt.Fprintln(w, "\nAnnouncements:")
		var rows [][]string
		for _, a := range r.Addresses {
			first := true
			cell := func() string {
				if first {
					first = false
					return "  " + a.IP
				}
				return "  "
			}
			for _, l := range a.L2 {
				rows = append(rows, []string{cell(), l.Node, p.paint(green, "layer2"), "on " + dashList(l.Interfaces)})
			}
			for _, b := range a.BGP {
				detail := "to peers " + dashList(b.Peers)
				if len(b.PeersDown) > 0 {
					detail += p.paint(red, "; not established: "+strings.Join(b.PeersDown, ", "))
				}
				rows = append(rows, []string{cell(), b.Node, p.paint(green, "bgp"), detail})
			}
			if len(a.L2) == 0 && len(a.BGP) == 0 {
				rows = append(rows, []string{cell(), "-", p.paint(red, "none"), "no node announces it"})
			}
			for _, n := range a.NotAnnouncing {
				no := "-"
				if n.Protocol != "" {
					no = "no " + n.Protocol
				}
				rows = append(rows, []string{cell(), n.Node, no, n.Reason + ": " + n.Message})
			}
		}
		p.table("  ADDRESS\tNODE\tANNOUNCES\tDETAIL", rows)
	}
	if len(r.Events) > 0 {
		fmt.Fprintln(w, "\nEvents:")
		rows := make([][]string, 0, len(r.Events))
		for _, e := range r.Events {
			typ := e.Type
			if typ == "Warning" {
				typ = p.paint(red, typ)
			}
			rows = append(rows, []string{"  " + e.Age, typ, e.Reason, e.Message})
		}
		p.table("  AGE\tTYPE\tREASON\tMESSAGE", rows)
	}
	if r.Pending {
		fmt.Fprintf(w, "\n%s %s\n", p.paint(red, "Pending:"), r.Fix)
	}
}

// Pools prints `pools`.
func (p Printer) Pools(rs []PoolReport) {
	rows := make([][]string, 0, len(rs))
	for _, r := range rs {
		prob := "-"
		if len(r.Problems) > 0 {
			prob = p.paint(red, strings.Join(r.Problems, "; "))
		}
		rows = append(rows, []string{r.Name, p.yesNo(r.AutoAssign),
			fmt.Sprintf("%d/%s", r.IPv4Used, free(r.IPv4Free)), fmt.Sprintf("%d/%s", r.IPv6Used, free(r.IPv6Free)),
			dashList(r.Services), prob})
	}
	p.table("NAME\tAUTOASSIGN\tIPV4 USED/FREE\tIPV6 USED/FREE\tSERVICES\tPROBLEMS", rows)
}

// Status prints `status`.
func (p Printer) Status(r *StatusReport) {
	rows := make([][]string, 0, len(r.Speakers))
	for _, s := range r.Speakers {
		cfg, members := p.paint(red, "no speaker status"), "-"
		if s.Reporting {
			cfg = s.Config
			if s.Config != "Valid" {
				cfg = p.paint(red, s.Config+": "+s.Error)
			}
			members = "memberlist disabled"
			if s.Memberlist {
				members = fmt.Sprintf("alive %s", dashList(s.Alive))
				if len(s.Suspect) > 0 {
					members += "; " + p.paint(red, "suspect "+strings.Join(s.Suspect, ", "))
				}
				if len(s.Dead) > 0 {
					members += "; " + p.paint(red, "dead "+strings.Join(s.Dead, ", "))
				}
			}
		}
		rows = append(rows, []string{s.Node, cfg, fmt.Sprint(s.Announcing), members})
	}
	p.table("NODE\tCONFIG\tANNOUNCING\tMEMBERS", rows)
	if len(r.Sessions) > 0 {
		fmt.Fprintln(p.W)
		rows = rows[:0]
		for _, s := range r.Sessions {
			status := s.Status
			if status == "NotEstablished" || status == "False" {
				status = p.paint(red, status)
			}
			rows = append(rows, []string{dash(s.Node), s.Peer, s.Type, status, dash(s.Reason), s.Message})
		}
		p.table("NODE\tPEER\tSESSION/CONDITION\tSTATUS\tADDRESS/REASON\tMESSAGE", rows)
	}
	if len(r.Unannounced) > 0 {
		fmt.Fprintln(p.W)
		rows = rows[:0]
		for _, u := range r.Unannounced {
			rows = append(rows, []string{u.IP, u.Service})
		}
		p.table("UNANNOUNCED IP\tSERVICE", rows)
	}
	if len(r.Moved) > 0 {
		fmt.Fprintln(p.W)
		rows = rows[:0]
		for _, m := range r.Moved {
			rows = append(rows, []string{m.IP, m.Service, m.From, m.To, m.Age})
		}
		p.table("MOVED IP\tSERVICE\tFROM\tTO\tAGE", rows)
	}
}

// Doctor prints the findings, or that there are none.
func (p Printer) Doctor(fs []Finding) {
	if len(fs) == 0 {
		fmt.Fprintln(p.W, p.paint(green, "No problems found."))
		return
	}
	for _, f := range fs {
		fmt.Fprintf(p.W, "%s [%s] %s\n    fix: %s\n", p.paint(red, "✗"), f.Check, f.Problem, f.Fix)
	}
}
