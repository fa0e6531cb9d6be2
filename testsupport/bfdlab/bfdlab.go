// Package bfdlab is test support for BFD: FRR's bfdd started beside an
// frrlab router, its peers read from "show bfd peers json" (FRR 8.4 field
// names), and a link cut that drops BFD packets in a namespace with
// nftables (no interface event, so both sides must notice by their
// detection timers). Used by bfdnet's tests and hack/bench/bfd.
package bfdlab

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/barelb/barelb/testsupport/frrlab"
	"github.com/barelb/barelb/testsupport/netlab"
)

// BFDDPath is Debian's bfdd.
var BFDDPath = "/usr/lib/frr/bfdd"

// BFDD is bfdd running in a router's namespace and directory.
type BFDD struct {
	r *frrlab.Router
	p *netlab.Process
}

// StartBFDD writes conf as bfdd.conf into r's directory and starts bfdd
// with its vty and control sockets there (never the system's), then
// waits until it answers vtysh.
func StartBFDD(r *frrlab.Router, conf string) (*BFDD, error) {
	u, err := user.Lookup("frr")
	if err != nil {
		return nil, err
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	path := filepath.Join(r.Dir, "bfdd.conf")
	if err := os.WriteFile(path, []byte(conf), 0o640); err != nil {
		return nil, err
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return nil, err
	}
	p, err := r.NS.Start(nil, BFDDPath, "-u", "frr", "-g", "frr",
		"--vty_socket", r.Dir,
		"--bfdctl", filepath.Join(r.Dir, "bfdd.sock"),
		"-i", filepath.Join(r.Dir, "bfdd.pid"),
		"-z", filepath.Join(r.Dir, "zserv.api"),
		"-f", path, "-P", "0",
		"--log", "file:"+filepath.Join(r.Dir, "bfdd.log"))
	if err != nil {
		return nil, err
	}
	b := &BFDD{r: r, p: p}
	for deadline := time.Now().Add(15 * time.Second); ; {
		select {
		case <-p.Done():
			return nil, fmt.Errorf("bfdlab: bfdd exited during start: %v\n%s", p.Err(), b.Log())
		default:
		}
		if _, err := r.Vtysh("show bfd peers json"); err == nil {
			return b, nil
		}
		if time.Now().After(deadline) {
			b.Close()
			return nil, fmt.Errorf("bfdlab: bfdd did not answer in time\n%s", b.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close stops bfdd.
func (b *BFDD) Close() { b.p.Stop() }

// Log returns the tail of bfdd's log.
func (b *BFDD) Log() string {
	data, _ := os.ReadFile(filepath.Join(b.r.Dir, "bfdd.log"))
	if len(data) > 16<<10 {
		data = data[len(data)-16<<10:]
	}
	return string(data)
}

// Peer is one entry of "show bfd peers json"; intervals in milliseconds.
type Peer struct {
	Peer                   string `json:"peer"`
	Local                  string `json:"local"`
	Interface              string `json:"interface"`
	Multihop               bool   `json:"multihop"`
	ID                     uint32 `json:"id"`
	RemoteID               uint32 `json:"remote-id"`
	Status                 string `json:"status"`
	Diagnostic             string `json:"diagnostic"`
	RemoteDiagnostic       string `json:"remote-diagnostic"`
	ReceiveInterval        int    `json:"receive-interval"`
	TransmitInterval       int    `json:"transmit-interval"`
	DetectMultiplier       int    `json:"detect-multiplier"`
	RemoteReceiveInterval  int    `json:"remote-receive-interval"`
	RemoteTransmitInterval int    `json:"remote-transmit-interval"`
	RemoteDetectMultiplier int    `json:"remote-detect-multiplier"`
}

// Peers returns bfdd's sessions.
func (b *BFDD) Peers() ([]Peer, error) {
	var ps []Peer
	err := b.r.JSON("show bfd peers json", &ps)
	return ps, err
}

// PeerByAddr returns the session with the given peer address.
func (b *BFDD) PeerByAddr(addr string) (Peer, error) {
	ps, err := b.Peers()
	if err != nil {
		return Peer{}, err
	}
	for _, p := range ps {
		if p.Peer == addr {
			return p, nil
		}
	}
	return Peer{}, fmt.Errorf("bfdlab: bfdd has no peer %s (has %+v)", addr, ps)
}

const cutTable = "barelbbfdcut"

// Cut drops every BFD packet (UDP 3784 and 4784) entering or leaving ns,
// silently: no ICMP, no interface event.
func Cut(ns *netlab.Namespace) error {
	for _, args := range [][]string{
		{"add", "table", "inet", cutTable},
		{"add", "chain", "inet", cutTable, "in", "{", "type", "filter", "hook", "input", "priority", "0", ";", "}"},
		{"add", "chain", "inet", cutTable, "out", "{", "type", "filter", "hook", "output", "priority", "0", ";", "}"},
		{"add", "rule", "inet", cutTable, "in", "udp", "dport", "{", "3784,", "4784", "}", "drop"},
		{"add", "rule", "inet", cutTable, "out", "udp", "dport", "{", "3784,", "4784", "}", "drop"},
	} {
		if err := ns.Exec(append([]string{"nft"}, args...)...); err != nil {
			return err
		}
	}
	return nil
}

// Heal removes what Cut added.
func Heal(ns *netlab.Namespace) error {
	return ns.Exec("nft", "delete", "table", "inet", cutTable)
}

// WaitFor polls cond every 10 ms until it returns nil or timeout passes,
// returning the last error.
func WaitFor(timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Join links a and b with a veth (devA in a, devB in b), assigns the
// addresses (CIDR strings) and brings both ends up.
func Join(lab *netlab.Lab, a *netlab.Namespace, devA string, addrsA []string, b *netlab.Namespace, devB string, addrsB []string) error {
	if err := lab.Veth(a, devA, b, devB); err != nil {
		return err
	}
	for _, end := range []struct {
		ns    *netlab.Namespace
		dev   string
		addrs []string
	}{{a, devA, addrsA}, {b, devB, addrsB}} {
		for _, c := range end.addrs {
			if err := end.ns.AddAddr(end.dev, c); err != nil {
				return err
			}
		}
		if err := end.ns.LinkUp(end.dev); err != nil {
			return err
		}
	}
	return nil
}

// Pair creates namespaces a and b joined on eth0 with the given addresses.
func Pair(lab *netlab.Lab, a, b string, addrsA, addrsB []string) (*netlab.Namespace, *netlab.Namespace, error) {
	nsA, err := lab.AddNamespace(a)
	if err != nil {
		return nil, nil, err
	}
	nsB, err := lab.AddNamespace(b)
	if err != nil {
		return nil, nil, err
	}
	return nsA, nsB, Join(lab, nsA, "eth0", addrsA, nsB, "eth0", addrsB)
}
