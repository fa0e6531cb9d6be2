package netlab

import (
	"fmt"
	"sync"
)

// Switch is a LAN: a namespace of its own holding one bridge, br0, that
// hosts plug into with a veth each. It is the one way the tests build a
// shared Ethernet segment (layer 2 answers, BGP to a router, BFD).
type Switch struct {
	*Namespace
	lab   *Lab
	mu    sync.Mutex
	ports int
}

// AddSwitch creates the switch namespace (named with suffix) and its bridge.
func (l *Lab) AddSwitch(suffix string) (*Switch, error) {
	ns, err := l.AddNamespace(suffix)
	if err != nil {
		return nil, err
	}
	if err := ns.Bridge("br0"); err != nil {
		return nil, err
	}
	return &Switch{Namespace: ns, lab: l}, nil
}

// Plug connects device dev of ns to a new switch port and returns the
// port's name (p1, p2, ... in the switch namespace), so a test can cut the
// link with LinkDown(port). Addresses given are added to dev.
func (s *Switch) Plug(ns *Namespace, dev string, addrs ...string) (string, error) {
	s.mu.Lock()
	s.ports++
	port := fmt.Sprintf("p%d", s.ports)
	s.mu.Unlock()
	if err := s.lab.Veth(ns, dev, s.Namespace, port); err != nil {
		return "", err
	}
	if err := s.Attach(port, "br0"); err != nil {
		return "", err
	}
	for _, a := range addrs {
		if err := ns.AddAddr(dev, a); err != nil {
			return "", err
		}
	}
	return port, nil
}
