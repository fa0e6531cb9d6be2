package frrlab

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/barelb/barelb/testsupport/netlab"
)

func TestRouterLifecycle(t *testing.T) {
	lab := netlab.NewForTest(t, "frr")
	ns, err := lab.AddNamespace("rtr")
	if err != nil {
		t.Fatal(err)
	}
	if err := ns.AddAddr("lo", "198.18.255.1/32"); err != nil {
		t.Fatal(err)
	}
	r, err := Start(ns, Config{BGPD: `router bgp 64500
 bgp router-id 198.18.255.1
 neighbor 198.18.255.2 remote-as 64512
`})
	if err != nil {
		t.Fatal(err)
	}
	ns2, err := r.Neighbors()
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := ns2["198.18.255.2"]; !ok || n.RemoteAS != 64512 || n.Established() {
		t.Errorf("neighbors %+v", ns2)
	}
	if err := r.Configure("router bgp 64500", "neighbor 198.18.255.3 remote-as 64513"); err != nil {
		t.Fatal(err)
	}
	if err := r.Configure("router bgp 64500", "this is not a command"); err == nil {
		t.Error("a bad configuration line was accepted")
	}
	if ns2, _ = r.Neighbors(); len(ns2) != 2 {
		t.Errorf("after Configure: %+v", ns2)
	}
	// A connected route is in zebra's RIB; no BGP route is.
	e, err := r.RIBRoute(netip.MustParsePrefix("198.18.255.1/32"), "bgp")
	if err != nil || e != nil {
		t.Errorf("RIBRoute for a non-BGP prefix: %+v %v", e, err)
	}
	paths, err := r.BGPPaths(netip.MustParsePrefix("198.19.0.1/32"))
	if err != nil || len(paths) != 0 {
		t.Errorf("BGPPaths for an unknown prefix: %+v %v", paths, err)
	}
	sum, err := r.Summary()
	if err != nil || sum["ipv4Unicast"]["198.18.255.2"].State == "Established" {
		t.Errorf("summary %+v %v", sum, err)
	}
	out, err := ns.Output("ss", "-ltn")
	if err != nil || !strings.Contains(out, ":179") {
		t.Errorf("bgpd does not listen on 179 in its namespace: %v\n%s", err, out)
	}
	dir := r.Dir
	r.Close()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("router directory survived Close: %v", err)
	}
	if pids, _ := exec.Command("ip", "netns", "pids", ns.Name).Output(); strings.TrimSpace(string(pids)) != "" {
		t.Errorf("processes left in the namespace: %s", pids)
	}
}
