package app

import (
	"testing"
	"time"
)

func TestCutOffHold(t *testing.T) {
	var none *cutOff
	if none.hold(map[string]bool{"n1": true}, 3) != 0 {
		t.Error("a nil cutOff holds")
	}
	c := &cutOff{}
	alone, both := map[string]bool{"n1": true}, map[string]bool{"n1": true, "n2": true}
	if c.hold(alone, 3) != 0 {
		t.Error("holds before any interface came up")
	}
	c.lastUp.Store(time.Now().UnixNano())
	if h := c.hold(alone, 3); h <= 0 || h > rejoinGrace {
		t.Errorf("alone right after a link came up: hold %v, want (0, %v]", h, rejoinGrace)
	}
	if c.hold(both, 3) != 0 {
		t.Error("holds while another speaker is seen")
	}
	if c.hold(alone, 1) != 0 {
		t.Error("holds in a cluster of one node")
	}
	c.lastUp.Store(time.Now().Add(-rejoinGrace).UnixNano())
	if c.hold(alone, 3) != 0 {
		t.Error("holds after the grace")
	}
}

func TestCameUp(t *testing.T) {
	for _, tc := range []struct {
		prev, cur map[string]bool
		want      bool
	}{
		{map[string]bool{"eth0": false}, map[string]bool{"eth0": true}, true},
		{map[string]bool{"eth0": true}, map[string]bool{"eth0": false}, false},
		{map[string]bool{"eth0": true}, map[string]bool{"eth0": true, "eth1": true}, true},
		{map[string]bool{"eth0": true, "eth1": true}, map[string]bool{"eth0": true}, false},
	} {
		if got := cameUp(tc.prev, tc.cur); got != tc.want {
			t.Errorf("cameUp(%v, %v) = %v, want %v", tc.prev, tc.cur, got, tc.want)
		}
	}
}
