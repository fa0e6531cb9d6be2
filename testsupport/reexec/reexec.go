// Package reexec runs the test binary again, inside a network namespace,
// as an RPC server the test drives: the way barelb's tests run a GoBGP
// speaker in a node namespace (GoBGP dials from whatever OS thread its
// goroutines land on, so an in-process server cannot be confined to one
// namespace, and a process is what a test kills to see a speaker die).
//
// The child serves one net/rpc connection on a unix socket, reachable
// across network namespaces, and exits when it closes:
//
//	func TestMain(m *testing.M) {
//		reexec.ServeIfChild("MY_SOCKET_ENV", &MyRPC{})
//		os.Exit(m.Run())
//	}
//	child := reexec.Start(t, ns, "MY_SOCKET_ENV") // child.Client.Call("MyRPC.X", ...)
package reexec

import (
	"fmt"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/barelb/barelb/testsupport/netlab"
)

// ServeIfChild returns at once in the test process. In a child started by
// Start (socketEnv set) it serves rcvr's methods on the socket and exits
// the process when the connection closes, non-zero on an error.
func ServeIfChild(socketEnv string, rcvr any) {
	sock := os.Getenv(socketEnv)
	if sock == "" {
		return
	}
	if err := serve(sock, rcvr); err != nil {
		fmt.Fprintln(os.Stderr, "reexec child:", err)
		os.Exit(1)
	}
	os.Exit(0)
}

func serve(sock string, rcvr any) error {
	l, err := net.Listen("unix", sock)
	if err != nil {
		return err
	}
	srv := rpc.NewServer()
	if err := srv.Register(rcvr); err != nil {
		return err
	}
	conn, err := l.Accept()
	if err != nil {
		return err
	}
	l.Close()
	srv.ServeConn(conn)
	return nil
}

// Child is the test's handle on one child process.
type Child struct {
	Proc   *netlab.Process
	Client *rpc.Client
	// Out collects the child's stdout and stderr, for failure logs.
	Out *Output
}

// Start runs the test binary in ns with socketEnv (and env, "K=V" each)
// set, waits until it listens and connects. The child is killed when the
// test ends; its output is logged if the test failed.
func Start(t testing.TB, ns *netlab.Namespace, socketEnv string, env ...string) *Child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "child.sock")
	c := &Child{Out: &Output{}}
	args := append([]string{"env", socketEnv + "=" + sock}, env...)
	if c.Proc, err = ns.Start(c.Out, append(args, exe)...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.Client != nil {
			c.Client.Close()
		}
		c.Proc.Kill()
		if t.Failed() {
			t.Logf("child in %s, output:\n%s", ns.Name, tail(c.Out.String(), 20000))
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("unix", sock)
		if err == nil {
			c.Client = rpc.NewClient(conn)
			return c
		}
		select {
		case <-c.Proc.Done():
			t.Fatalf("child in %s exited: %v\n%s", ns.Name, c.Proc.Err(), c.Out)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("child in %s did not listen: %v", ns.Name, err)
		}
		time.Sleep(10 * time.Millisecond) // polling for the socket, bounded by the deadline
	}
}

// Output is a concurrency-safe buffer for a child's output.
type Output struct {
	mu sync.Mutex
	b  []byte
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.b = append(o.b, p...)
	return len(p), nil
}

func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return string(o.b)
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
