package allocator

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/internal/addr"
)

var (
	v4   = []addr.Family{addr.IPv4}
	v6   = []addr.Family{addr.IPv6}
	v46  = []addr.Family{addr.IPv4, addr.IPv6}
	v64  = []addr.Family{addr.IPv6, addr.IPv4}
	tcp  = func(p int32) Port { return Port{"TCP", p} }
	udp  = func(p int32) Port { return Port{"UDP", p} }
	ipOf = netip.MustParseAddr
)

func ranges(s ...string) []addr.Range {
	out := make([]addr.Range, len(s))
	for i, r := range s {
		out[i] = addr.MustParseRange(r)
	}
	return out
}

func ips(s ...string) []netip.Addr {
	out := make([]netip.Addr, len(s))
	for i, x := range s {
		out[i] = ipOf(x)
	}
	return out
}

func newAlloc(t testing.TB, pools ...Pool) *Allocator {
	t.Helper()
	a := New()
	if err := a.SetPools(pools); err != nil {
		t.Fatal(err)
	}
	return a
}

func auto(name string, r ...string) Pool {
	return Pool{Name: name, Ranges: ranges(r...), AutoAssign: true}
}

func only(names ...string) func(string) bool {
	return func(p string) bool { return slices.Contains(names, p) }
}

// want asserts a successful Assign with the given pool and IPs.
func want(t testing.TB, a *Allocator, req Request, pool string, want ...string) {
	t.Helper()
	res, err := a.Assign(req)
	if err != nil {
		t.Fatalf("Assign(%s): %v", req.Key, err)
	}
	if res.Pool != pool || !slices.Equal(res.IPs, ips(want...)) {
		t.Fatalf("Assign(%s) = %s %v, want %s %v", req.Key, res.Pool, res.IPs, pool, want)
	}
}

// wantErr asserts a failed Assign wrapping sentinel with msg in its text,
// and that the failure changed nothing.
func wantErr(t testing.TB, a *Allocator, req Request, sentinel error, msg string) {
	t.Helper()
	before := dump(a)
	_, err := a.Assign(req)
	if !errors.Is(err, sentinel) {
		t.Fatalf("Assign(%s) error = %v, want %v", req.Key, err, sentinel)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("Assign(%s) error %q does not mention %q", req.Key, err, msg)
	}
	if after := dump(a); after != before {
		t.Fatalf("failed Assign(%s) changed state:\n%s\n->\n%s", req.Key, before, after)
	}
}

// dump renders the whole observable state deterministically.
func dump(a *Allocator) string {
	a.mu.Lock()
	keys := make([]string, 0, len(a.svcs))
	for k := range a.svcs {
		keys = append(keys, k)
	}
	a.mu.Unlock()
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		r, _ := a.Assignment(k)
		b.WriteString(k + "=" + r.Pool + ":")
		for _, ip := range r.IPs {
			b.WriteString(" " + ip.String())
		}
		b.WriteString("\n")
	}
	for _, s := range a.Stats() {
		b.WriteString(s.Name + " " + strings.Trim(strings.ReplaceAll(
			strings.Join([]string{u(s.IPv4.Assigned), u(s.IPv4.Available), u(s.IPv6.Assigned), u(s.IPv6.Available)}, " "), "\n", ""), " ") + "\n")
	}
	return b.String()
}

func u(x uint64) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + x%10)
		x /= 10
		if x == 0 {
			return string(buf[i:])
		}
	}
}
