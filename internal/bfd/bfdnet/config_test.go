package bfdnet

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bfd"
)

func TestAddRefusesBadConfigs(t *testing.T) {
	m := New(Options{})
	defer m.Close()
	a := netip.MustParseAddr("198.18.0.1")
	cases := []struct {
		name string
		c    Config
		want string
	}{
		{"echo", Config{Remote: a, Profile: bfd.Profile{EchoMode: true}}, "forwarding plane"},
		{"no remote", Config{}, "not a unicast address"},
		{"multihop without local", Config{Remote: a, MultiHop: true}, "needs a local address"},
		{"multihop on an interface", Config{Remote: a, Local: a, MultiHop: true, Interface: "eth0"}, "cannot be bound"},
		{"families", Config{Remote: a, Local: netip.MustParseAddr("2001:db8::1")}, "different families"},
		{"link-local without interface", Config{Remote: netip.MustParseAddr("fe80::1")}, "needs an interface"},
		{"intervals and multiplier", Config{Remote: a, Profile: bfd.Profile{ReceiveInterval: time.Millisecond, TransmitInterval: 2 * time.Minute, DetectMultiplier: 1}},
			"receiveInterval 1ms"},
	}
	for _, c := range cases {
		err := m.Add(c.c)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
	err := m.Add(cases[len(cases)-1].c)
	for _, want := range []string{"transmitInterval 2m0s", "detectMultiplier 1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("every problem should be named; %q missing from %v", want, err)
		}
	}
	if err := m.Add(Config{Remote: a, Profile: bfd.Profile{EchoMode: true}}); !errors.Is(err, bfd.ErrEcho) {
		t.Errorf("echo: %v is not ErrEcho", err)
	}
	if len(m.Snapshot().Sessions) != 0 {
		t.Error("a refused config left a session behind")
	}
}
