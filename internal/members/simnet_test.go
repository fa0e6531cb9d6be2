package members

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
)

// simNet is an in-memory network for many memberlist instances in one
// process: packets are delivered through buffered channels (a full queue
// drops, as a socket buffer would), streams are net.Pipe pairs, and every
// byte a member sends is counted. memberlist's own MockNetwork blocks a
// sender on a member that no longer reads, so it cannot simulate a crash.
type simNet struct {
	mu    sync.RWMutex
	byAdr map[string]*simTransport
	port  int
}

// udpIPHeader is what each packet costs on the wire besides its payload
// (IPv4 and UDP headers), counted into the bandwidth.
const udpIPHeader = 28

func (n *simNet) transport() *simTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.byAdr == nil {
		n.byAdr = map[string]*simTransport{}
	}
	n.port++
	t := &simTransport{
		net:     n,
		addr:    &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: n.port},
		packets: make(chan *memberlist.Packet, 4096),
		streams: make(chan net.Conn, 64),
	}
	n.byAdr[t.addr.String()] = t
	return t
}

// replace gives a member that restarts a new transport on its old
// address (a speaker keeps its node's IP and port).
func (n *simNet) replace(old *simTransport) *simTransport {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := &simTransport{
		net:     n,
		addr:    old.addr,
		packets: make(chan *memberlist.Packet, 4096),
		streams: make(chan net.Conn, 64),
	}
	n.byAdr[t.addr.String()] = t
	return t
}

func (n *simNet) peer(addr string) *simTransport {
	n.mu.RLock()
	defer n.mu.RUnlock()
	t := n.byAdr[addr]
	if t == nil || t.down.Load() {
		return nil
	}
	return t
}

// simTransport is one member's end of a simNet.
type simTransport struct {
	net     *simNet
	addr    *net.UDPAddr
	packets chan *memberlist.Packet
	streams chan net.Conn
	down    atomic.Bool  // crashed: receives nothing, dials fail
	sent    atomic.Int64 // packet bytes sent, headers included
	pkts    atomic.Int64 // packets sent
	streamd atomic.Int64 // stream bytes written
}

var _ memberlist.Transport = (*simTransport)(nil)

func (t *simTransport) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return t.addr.IP, t.addr.Port, nil
}

func (t *simTransport) WriteTo(b []byte, addr string) (time.Time, error) {
	now := time.Now()
	if t.down.Load() {
		return now, nil // cut off: nothing leaves either
	}
	t.sent.Add(int64(len(b) + udpIPHeader))
	t.pkts.Add(1)
	if dest := t.net.peer(addr); dest != nil {
		select {
		case dest.packets <- &memberlist.Packet{Buf: append([]byte(nil), b...), From: t.addr, Timestamp: now}:
		default: // queue full: dropped, like a full socket buffer
		}
	}
	return now, nil
}

func (t *simTransport) PacketCh() <-chan *memberlist.Packet { return t.packets }

func (t *simTransport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	dest := t.net.peer(addr)
	if dest == nil || t.down.Load() {
		return nil, errors.New("connection refused")
	}
	ours, theirs := net.Pipe()
	select {
	case dest.streams <- countingConn{theirs, dest}:
		return countingConn{ours, t}, nil
	case <-time.After(timeout):
		ours.Close()
		theirs.Close()
		return nil, errors.New("connection timed out")
	}
}

func (t *simTransport) StreamCh() <-chan net.Conn { return t.streams }

func (t *simTransport) Shutdown() error { return nil }

// countingConn counts what its owner writes.
type countingConn struct {
	net.Conn
	owner *simTransport
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.owner.streamd.Add(int64(n))
	return n, err
}
