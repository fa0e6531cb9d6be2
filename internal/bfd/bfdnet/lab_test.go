package bfdnet

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bfd"
	"github.com/barelb/barelb/testsupport/bfdlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// fast is the 300 ms x 3 profile of the issue.
var fast = bfd.Profile{ReceiveInterval: 300 * time.Millisecond, TransmitInterval: 300 * time.Millisecond, DetectMultiplier: 3}

// node is one side of a test: a namespace and a Manager whose sockets
// live in it, with its events collected.
type node struct {
	ns     *netlab.Namespace
	m      *Manager
	events chan Event
}

func newNode(t *testing.T, ns *netlab.Namespace) *node {
	n := &node{ns: ns, events: make(chan Event, 256)}
	n.m = New(Options{OnChange: func(e Event) { n.events <- e }})
	t.Cleanup(n.m.Close)
	return n
}

// add runs Add inside the node's namespace, where its sockets must be.
func (n *node) add(t *testing.T, c Config) {
	t.Helper()
	if err := n.ns.Do(func() error { return n.m.Add(c) }); err != nil {
		t.Fatal(err)
	}
}

func (n *node) waitState(t *testing.T, k Key, want bfd.State, timeout time.Duration) SessionStats {
	t.Helper()
	var st SessionStats
	err := bfdlab.WaitFor(timeout, func() error {
		var ok bool
		if st, ok = n.m.Session(k); !ok {
			return fmt.Errorf("no session %v", k)
		}
		if st.Status.State != want {
			return fmt.Errorf("session %v is %v, want %v: %+v", k, st.Status.State, want, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitEvent returns the first event with To == want, discarding others.
func (n *node) waitEvent(t *testing.T, want bfd.State, timeout time.Duration) Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-n.events:
			if e.To == want {
				return e
			}
		case <-deadline:
			t.Fatalf("no transition to %v within %v", want, timeout)
		}
	}
}

// pair is two namespaces joined by a veth: a=198.18.0.1/24 on "eth0",
// b=198.18.0.2/24 on "eth0".
type pair struct {
	lab  *netlab.Lab
	a, b *node
	aIP  netip.Addr
	bIP  netip.Addr
}

func newPair(t *testing.T) *pair {
	lab := netlab.NewForTest(t, "bfd")
	nsA, nsB, err := bfdlab.Pair(lab, "a", "b", []string{"198.18.0.1/24"}, []string{"198.18.0.2/24"})
	if err != nil {
		t.Fatal(err)
	}
	return &pair{lab: lab, a: newNode(t, nsA), b: newNode(t, nsB),
		aIP: netip.MustParseAddr("198.18.0.1"), bIP: netip.MustParseAddr("198.18.0.2")}
}
