package netlab

import (
	"strings"
	"testing"
)

func TestTwoHostsPingOverBridge(t *testing.T) {
	l := NewForTest(t, "nl")
	sw, err := l.AddNamespace("sw")
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Bridge("br0"); err != nil {
		t.Fatal(err)
	}
	var hosts []*Namespace
	for i, name := range []string{"a", "b"} {
		ns, err := l.AddNamespace(name)
		if err != nil {
			t.Fatal(err)
		}
		port := "p" + name
		if err := l.Veth(ns, "eth0", sw, port); err != nil {
			t.Fatal(err)
		}
		if err := sw.Attach(port, "br0"); err != nil {
			t.Fatal(err)
		}
		if err := ns.AddAddr("eth0", []string{"198.18.200.1/24", "198.18.200.2/24"}[i]); err != nil {
			t.Fatal(err)
		}
		if err := ns.AddAddr("eth0", []string{"2001:db8:200::1/64", "2001:db8:200::2/64"}[i]); err != nil {
			t.Fatal(err)
		}
		hosts = append(hosts, ns)
	}
	if err := hosts[0].Exec("ping", "-c1", "-W2", "198.18.200.2"); err != nil {
		t.Fatal(err)
	}
	if err := hosts[0].Exec("ping", "-6", "-c1", "-W2", "2001:db8:200::2"); err != nil {
		t.Fatal(err)
	}
	if err := hosts[1].AddAddr("eth0", "10.0.0.1/24"); err == nil || !strings.Contains(err.Error(), "outside") {
		t.Fatalf("address outside the lab ranges accepted: %v", err)
	}
	names := []string{sw.Name, hosts[0].Name, hosts[1].Name}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	out, _ := sw.Output("true")
	_ = out
	for _, n := range names {
		if err := run("ip", "netns", "pids", n); err == nil {
			t.Errorf("namespace %s survived Close", n)
		}
	}
}
