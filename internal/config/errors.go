package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with the configuration, tied to the object
// that has to change to fix it.
type Problem struct {
	Kind    string // e.g. "IPAddressPool"
	Name    string
	Message string
	// Warning marks a problem that changes nothing: the object is used
	// as written (disableMP, which has no effect). Everything else means
	// the object, or part of it, is not used.
	Warning bool
}

func (p Problem) String() string { return fmt.Sprintf("%s %q: %s", p.Kind, p.Name, p.Message) }

// Problems is every problem found by Build, sorted for stable output.
type Problems []Problem

func (ps Problems) Error() string {
	if len(ps) == 0 {
		return ""
	}
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, "; ")
}

// Blocking returns the problems that are not warnings.
func (ps Problems) Blocking() Problems {
	var out Problems
	for _, p := range ps {
		if !p.Warning {
			out = append(out, p)
		}
	}
	return out
}

// For returns the problems of one object.
func (ps Problems) For(kind, name string) []string {
	var out []string
	for _, p := range ps {
		if p.Kind == kind && p.Name == name {
			out = append(out, p.Message)
		}
	}
	return out
}

func (ps *Problems) add(kind, name, format string, args ...any) {
	*ps = append(*ps, Problem{Kind: kind, Name: name, Message: fmt.Sprintf(format, args...)})
}

func (ps *Problems) warn(kind, name, format string, args ...any) {
	*ps = append(*ps, Problem{Kind: kind, Name: name, Message: fmt.Sprintf(format, args...), Warning: true})
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Kind != ps[j].Kind {
			return ps[i].Kind < ps[j].Kind
		}
		return ps[i].Name < ps[j].Name
	})
	return ps
}
