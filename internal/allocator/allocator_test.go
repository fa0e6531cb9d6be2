package allocator

import (
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/barelb/barelb/internal/addr"
)

func TestLowestFirstAndExhausted(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/31", "198.18.0.5"))
	want(t, a, Request{Key: "ns/s1", Families: v4}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/s2", Families: v4}, "a", "198.18.0.1")
	want(t, a, Request{Key: "ns/s3", Families: v4}, "a", "198.18.0.5")
	wantErr(t, a, Request{Key: "ns/s4", Families: v4}, ErrExhausted, `pool "a" has no free IPv4 address`)
	a.Release("ns/s2")
	want(t, a, Request{Key: "ns/s4", Families: v4}, "a", "198.18.0.1")
}

func TestAvoidBuggyIPs(t *testing.T) {
	p := Pool{Name: "a", Ranges: ranges("198.18.0.254-198.18.1.1", "2001:db8::ff-2001:db8::100"), AutoAssign: true, AvoidBuggyIPs: true}
	a := newAlloc(t, p)
	if s, _ := a.PoolStats("a"); s.IPv4.Total != 2 || s.IPv6.Total != 2 {
		t.Fatalf("stats %+v, want 2 usable IPv4 (IPv6 untouched)", s)
	}
	want(t, a, Request{Key: "ns/s1", Families: v4}, "a", "198.18.0.254")
	want(t, a, Request{Key: "ns/s2", Families: v4}, "a", "198.18.1.1")
	wantErr(t, a, Request{Key: "ns/s3", Families: v4}, ErrExhausted, "no free IPv4")
	want(t, a, Request{Key: "ns/s6", Families: v6}, "a", "2001:db8::ff")
	want(t, a, Request{Key: "ns/s7", Families: v6}, "a", "2001:db8::100")
	wantErr(t, a, Request{Key: "ns/s4", IPs: ips("198.18.0.255")}, ErrNotInPool, "avoidBuggyIPs")

	// Without the flag the same range gives four addresses.
	p.AvoidBuggyIPs = false
	a = newAlloc(t, p)
	for _, w := range []string{"198.18.0.254", "198.18.0.255", "198.18.1.0", "198.18.1.1"} {
		want(t, a, Request{Key: "ns/" + w, Families: v4}, "a", w)
	}
}

func TestPriority(t *testing.T) {
	a := newAlloc(t,
		Pool{Name: "none-b", Ranges: ranges("198.18.0.1"), AutoAssign: true},
		Pool{Name: "none-a", Ranges: ranges("198.18.0.2"), AutoAssign: true},
		Pool{Name: "two", Ranges: ranges("198.18.0.3"), AutoAssign: true, Priority: 2},
		Pool{Name: "one-b", Ranges: ranges("198.18.0.4"), AutoAssign: true, Priority: 1},
		Pool{Name: "one-a", Ranges: ranges("198.18.0.5"), AutoAssign: true, Priority: 1},
	)
	var order []string
	for _, s := range a.Stats() {
		order = append(order, s.Name)
	}
	if w := []string{"one-a", "one-b", "two", "none-a", "none-b"}; !slices.Equal(order, w) {
		t.Fatalf("order %v, want %v", order, w)
	}
	for i, w := range []string{"198.18.0.5", "198.18.0.4", "198.18.0.3", "198.18.0.2", "198.18.0.1"} {
		want(t, a, Request{Key: "ns/" + u(uint64(i)), Families: v4}, order[i], w)
	}
	err := func() error { _, err := a.Assign(Request{Key: "ns/x", Families: v4}); return err }()
	for _, name := range order {
		if !strings.Contains(err.Error(), `"`+name+`"`) {
			t.Errorf("exhausted error %q does not name pool %s", err, name)
		}
	}
}

func TestAutoAssignOff(t *testing.T) {
	a := newAlloc(t, Pool{Name: "expensive", Ranges: ranges("198.18.0.0/30")})
	wantErr(t, a, Request{Key: "ns/s", Families: v4}, ErrNoPoolAllowed, `pools "expensive" have autoAssign off`)
	want(t, a, Request{Key: "ns/s", Families: v4, IPs: ips("198.18.0.2")}, "expensive", "198.18.0.2")
	want(t, a, Request{Key: "ns/t", Families: v4, Pool: "expensive"}, "expensive", "198.18.0.0")
	// Dropping the annotation does not move an IP it already holds.
	want(t, a, Request{Key: "ns/t", Families: v4}, "expensive", "198.18.0.0")
}

func TestAllowed(t *testing.T) {
	a := newAlloc(t, Pool{Name: "a", Ranges: ranges("198.18.0.1"), AutoAssign: true, Priority: 1},
		auto("b", "198.18.0.2"), auto("c", "198.18.0.3"))
	want(t, a, Request{Key: "ns/s1", Families: v4, Allowed: only("b")}, "b", "198.18.0.2")
	wantErr(t, a, Request{Key: "ns/s2", Families: v4, Allowed: only()}, ErrNoPoolAllowed, `pools "a", "b", "c" do not select`)
	wantErr(t, a, Request{Key: "ns/s2", Families: v4, Pool: "a", Allowed: only("c")}, ErrNoPoolAllowed, `pool "a" does not select`)
	wantErr(t, a, Request{Key: "ns/s2", IPs: ips("198.18.0.1"), Allowed: only("c")}, ErrNoPoolAllowed, `pool "a" (of requested IP 198.18.0.1)`)
	// A pool that stops selecting a Service makes it move.
	want(t, a, Request{Key: "ns/s1", Families: v4, Allowed: only("c")}, "c", "198.18.0.3")
	if o := a.Owners(ipOf("198.18.0.2")); o != nil {
		t.Fatalf("old IP still owned by %v", o)
	}
	if err := a.SetPools(nil); err != nil {
		t.Fatal(err)
	}
	wantErr(t, a, Request{Key: "ns/s9", Families: v4}, ErrNoPoolAllowed, "no address pools are configured")
}

func TestUnknownPool(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/30"))
	wantErr(t, a, Request{Key: "ns/s", Families: v4, Pool: "gold"}, ErrUnknownPool, `"gold"`)
	wantErr(t, a, Request{Key: "ns/s", IPs: ips("198.18.0.1"), Pool: "gold"}, ErrUnknownPool, `"gold"`)
}

func TestRequestedIPs(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/24", "2001:db8::/64"), auto("b", "198.18.1.0/24", "2001:db8:1::/64"))
	want(t, a, Request{Key: "ns/dual", IPs: ips("2001:db8::7", "198.18.0.7")}, "a", "2001:db8::7", "198.18.0.7")
	for _, c := range []struct {
		name     string
		req      Request
		sentinel error
		msg      string
	}{
		{"not in pool", Request{Key: "ns/s", IPs: ips("198.19.0.1")}, ErrNotInPool, "198.19.0.1"},
		{"span", Request{Key: "ns/s", IPs: ips("198.18.0.9", "2001:db8:1::9")}, ErrIPsSpanPools, `198.18.0.9 is in pool "a" but 2001:db8:1::9 is in pool "b"`},
		{"in use", Request{Key: "ns/s", IPs: ips("198.18.0.7")}, ErrInUse, "198.18.0.7 is used by ns/dual"},
		{"named pool mismatch", Request{Key: "ns/s", IPs: ips("198.18.0.9"), Pool: "b"}, ErrNotInPool, `not in the requested pool "b"`},
		{"two of a family", Request{Key: "ns/s", IPs: ips("198.18.0.9", "198.18.0.10")}, ErrInvalidRequest, "at most one address per family"},
		{"duplicate", Request{Key: "ns/s", IPs: ips("198.18.0.9", "198.18.0.9")}, ErrInvalidRequest, "at most one"},
		{"mapped", Request{Key: "ns/s", IPs: ips("::ffff:198.18.0.9")}, ErrInvalidRequest, "not a plain"},
		{"zoned", Request{Key: "ns/s", IPs: ips("fe80::1%eth0")}, ErrInvalidRequest, "not a plain"},
		{"zero", Request{Key: "ns/s", IPs: []netip.Addr{{}}}, ErrInvalidRequest, "not a plain"},
		{"wrong family", Request{Key: "ns/s", Families: v6, IPs: ips("198.18.0.9")}, ErrInvalidRequest, "families are [IPv6]"},
		{"single stack two IPs", Request{Key: "ns/s", Families: v46, IPs: ips("198.18.0.9", "2001:db8::9")}, ErrInvalidRequest, "SingleStack"},
		{"require short", Request{Key: "ns/s", Families: v46, Policy: RequireDualStack, IPs: ips("198.18.0.9")}, ErrInvalidRequest, "RequireDualStack"},
	} {
		t.Run(c.name, func(t *testing.T) { wantErr(t, a, c.req, c.sentinel, c.msg) })
	}
	want(t, a, Request{Key: "ns/s", Families: v46, Policy: PreferDualStack, IPs: ips("198.18.0.9")}, "a", "198.18.0.9")
	// A requested IP is skipped by later automatic allocation.
	a2 := newAlloc(t, auto("a", "198.18.0.0/30"))
	want(t, a2, Request{Key: "ns/r", IPs: ips("198.18.0.0")}, "a", "198.18.0.0")
	want(t, a2, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.1")
}

func TestInvalidRequests(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/30"))
	for _, req := range []Request{
		{Families: v4},
		{Key: "ns/s"},
		{Key: "ns/s", Families: []addr.Family{addr.IPv4, addr.IPv4}},
		{Key: "ns/s", Families: []addr.Family{0}},
		{Key: "ns/s", Families: v4, Policy: 7},
	} {
		wantErr(t, a, req, ErrInvalidRequest, "")
	}
}

func TestDualStack(t *testing.T) {
	a := newAlloc(t,
		Pool{Name: "v4only", Ranges: ranges("198.18.0.0/30"), AutoAssign: true, Priority: 1},
		Pool{Name: "v6only", Ranges: ranges("2001:db8:6::/64"), AutoAssign: true, Priority: 2},
		auto("dual", "198.18.1.0/30", "2001:db8::/64"))
	// SingleStack takes only the first family.
	want(t, a, Request{Key: "ns/single6", Families: v64}, "v6only", "2001:db8:6::")
	// Require: both from one pool, in the listed order.
	want(t, a, Request{Key: "ns/req", Families: v64, Policy: RequireDualStack}, "dual", "2001:db8::", "198.18.1.0")
	// Prefer: a pool giving both wins over a higher-priority single-family pool.
	want(t, a, Request{Key: "ns/pref", Families: v46, Policy: PreferDualStack}, "dual", "198.18.1.1", "2001:db8::1")
	// Require with no dual-stack pool allowed: family error naming the pools.
	wantErr(t, a, Request{Key: "ns/x", Families: v46, Policy: RequireDualStack, Allowed: only("v4only", "v6only")},
		ErrFamilyNotAvailable, `pool "v4only" has no IPv6 range; pool "v6only" has no IPv4 range`)
	// Prefer with no dual-stack pool: the first pool that gives anything.
	want(t, a, Request{Key: "ns/pref2", Families: v64, Policy: PreferDualStack, Allowed: only("v4only", "v6only")}, "v4only", "198.18.0.0")
	// When the dual pool's IPv4 runs out, Require fails as exhausted, Prefer settles.
	want(t, a, Request{Key: "ns/fill1", Families: v4, Pool: "dual"}, "dual", "198.18.1.2")
	want(t, a, Request{Key: "ns/fill2", Families: v4, Pool: "dual"}, "dual", "198.18.1.3")
	wantErr(t, a, Request{Key: "ns/x", Families: v46, Policy: RequireDualStack}, ErrExhausted, `pool "dual" has no free IPv4 address`)
	want(t, a, Request{Key: "ns/pref3", Families: v46, Policy: PreferDualStack, Pool: "dual"}, "dual", "2001:db8::2")
	// Freeing IPv4 lets the PreferDualStack Service gain it without moving.
	a.Release("ns/fill1")
	want(t, a, Request{Key: "ns/pref3", Families: v46, Policy: PreferDualStack, Pool: "dual"}, "dual", "198.18.1.2", "2001:db8::2")
}

func TestSingleToDualUpgrade(t *testing.T) {
	a := newAlloc(t, auto("dual", "198.18.1.0/30", "2001:db8::/64"))
	want(t, a, Request{Key: "ns/s", Families: v4}, "dual", "198.18.1.0")
	want(t, a, Request{Key: "ns/s", Families: v46, Policy: PreferDualStack}, "dual", "198.18.1.0", "2001:db8::")
	want(t, a, Request{Key: "ns/s", Families: v46, Policy: RequireDualStack}, "dual", "198.18.1.0", "2001:db8::")
	// Back to single stack: the extra family has to go, so it reallocates.
	want(t, a, Request{Key: "ns/s", Families: v4}, "dual", "198.18.1.0")
	if o := a.Owners(ipOf("2001:db8::")); o != nil {
		t.Fatalf("IPv6 still owned by %v", o)
	}
}

func TestIdempotent(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/29"), auto("b", "198.18.1.0/29"))
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/t", Families: v4}, "a", "198.18.0.1")
	a.Release("ns/t")
	before := dump(a)
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.0")
	if dump(a) != before {
		t.Fatal("repeated Assign changed state")
	}
	// A requested IP different from the current one moves the Service.
	want(t, a, Request{Key: "ns/s", IPs: ips("198.18.0.5")}, "a", "198.18.0.5")
	want(t, a, Request{Key: "ns/s", IPs: ips("198.18.0.5")}, "a", "198.18.0.5")
	// Its own address may be requested back after releasing.
	want(t, a, Request{Key: "ns/u", Families: v4}, "a", "198.18.0.0")
	// An unsatisfiable change fails and keeps the old assignment.
	wantErr(t, a, Request{Key: "ns/s", IPs: ips("198.18.0.0")}, ErrInUse, "used by ns/u")
	wantErr(t, a, Request{Key: "ns/s", Families: v4, Pool: "zzz"}, ErrUnknownPool, "zzz")
	if r, _ := a.Assignment("ns/s"); !slices.Equal(r.IPs, ips("198.18.0.5")) {
		t.Fatalf("after failure ns/s holds %v", r.IPs)
	}
	// Dropping the requested IP keeps it (it still satisfies an automatic request).
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.5")
	// Naming another pool moves it.
	want(t, a, Request{Key: "ns/s", Families: v4, Pool: "b"}, "b", "198.18.1.0")
	if s, _ := a.PoolStats("a"); s.IPv4.Assigned != 1 || s.IPv4.Available != 7 {
		t.Fatalf("pool a stats %+v after move", s)
	}
}

func TestSharing(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/29"))
	dns := Sharing{Key: "dns", Ports: []Port{udp(53)}, Compat: "Cluster"}
	dnsTCP := Sharing{Key: "dns", Ports: []Port{tcp(53)}, Compat: "Cluster"}
	want(t, a, Request{Key: "ns/dns-udp", Families: v4, Sharing: dns}, "a", "198.18.0.0")
	// Same key, different ports, same compat: joins the IP.
	want(t, a, Request{Key: "ns/dns-tcp", Families: v4, Sharing: dnsTCP}, "a", "198.18.0.0")
	if o := a.Owners(ipOf("198.18.0.0")); !slices.Equal(o, []string{"ns/dns-tcp", "ns/dns-udp"}) {
		t.Fatalf("owners %v", o)
	}
	if s, _ := a.PoolStats("a"); s.IPv4.Assigned != 1 {
		t.Fatalf("shared IP counted %d times", s.IPv4.Assigned)
	}
	// Port clash: an automatic request gets its own IP...
	want(t, a, Request{Key: "ns/dns-udp2", Families: v4, Sharing: dns}, "a", "198.18.0.1")
	// ...and the lowest compatible shared IP is joined next time.
	want(t, a, Request{Key: "ns/dns-udp3", Families: v4, Sharing: Sharing{Key: "dns", Ports: []Port{udp(5353)}, Compat: "Cluster"}}, "a", "198.18.0.0")
	for _, c := range []struct {
		name     string
		sh       Sharing
		sentinel error
		msg      string
	}{
		{"port clash", Sharing{Key: "dns", Ports: []Port{tcp(53)}, Compat: "Cluster"}, ErrSharingConflict, "ns/dns-tcp, which also uses port TCP/53"},
		{"different key", Sharing{Key: "web", Ports: []Port{tcp(80)}, Compat: "Cluster"}, ErrSharingConflict, `different sharing key ("dns", this service has "web")`},
		{"incompatible policy", Sharing{Key: "dns", Ports: []Port{tcp(80)}, Compat: "Local/app=x"}, ErrSharingConflict, "traffic policy or pod selector is incompatible"},
		{"no key", Sharing{Ports: []Port{tcp(80)}}, ErrInUse, "this service has no sharing key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantErr(t, a, Request{Key: "ns/x", IPs: ips("198.18.0.0"), Sharing: c.sh}, c.sentinel, c.msg)
		})
	}
	// An IP held without a sharing key cannot be joined.
	want(t, a, Request{Key: "ns/private", IPs: ips("198.18.0.5")}, "a", "198.18.0.5")
	wantErr(t, a, Request{Key: "ns/x", IPs: ips("198.18.0.5"), Sharing: dnsTCP}, ErrInUse, "ns/private, which does not allow sharing")

	// A sharer whose ports start to clash is moved (to the lowest IP it
	// can share: .1 only has UDP/53); the others stay.
	want(t, a, Request{Key: "ns/dns-udp3", Families: v4, Sharing: Sharing{Key: "dns", Ports: []Port{tcp(53)}, Compat: "Cluster"}}, "a", "198.18.0.1")
	// Releasing one sharer keeps the IP for the rest.
	a.Release("ns/dns-udp")
	if o := a.Owners(ipOf("198.18.0.0")); !slices.Equal(o, []string{"ns/dns-tcp"}) {
		t.Fatalf("owners after release %v", o)
	}
	a.Release("ns/dns-tcp")
	if o := a.Owners(ipOf("198.18.0.0")); o != nil {
		t.Fatalf("owners after releasing all %v", o)
	}
	want(t, a, Request{Key: "ns/next", Families: v4}, "a", "198.18.0.0")
}

func TestSharingKeyChange(t *testing.T) {
	// A sole holder may change its sharing info in place.
	a := newAlloc(t, auto("a", "198.18.0.0/30"))
	want(t, a, Request{Key: "ns/a", Families: v4, Sharing: Sharing{Key: "k1", Ports: []Port{tcp(80)}}}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/a", Families: v4, Sharing: Sharing{Key: "k2", Ports: []Port{tcp(81)}}}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/b", Families: v4, Sharing: Sharing{Key: "k2", Ports: []Port{tcp(80)}}}, "a", "198.18.0.0")
	// With a co-holder, changing the key means moving.
	want(t, a, Request{Key: "ns/b", Families: v4, Sharing: Sharing{Key: "k3", Ports: []Port{tcp(80)}}}, "a", "198.18.0.1")
	// And the freed port can be taken by a new sharer.
	want(t, a, Request{Key: "ns/c", IPs: ips("198.18.0.0"), Sharing: Sharing{Key: "k2", Ports: []Port{tcp(80)}}}, "a", "198.18.0.0")
}

func TestRestore(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/30"))
	sh := Sharing{Key: "k", Ports: []Port{tcp(80)}}
	if err := a.Restore("ns/in", ips("198.18.0.0"), sh); err != nil {
		t.Fatal(err)
	}
	if err := a.Restore("ns/gone", ips("198.19.9.9", "2001:db8:9::9"), Sharing{}); err != nil {
		t.Fatal(err)
	}
	// Automatic allocation skips the restored IP.
	want(t, a, Request{Key: "ns/new", Families: v4}, "a", "198.18.0.1")
	if r, ok := a.Assignment("ns/gone"); !ok || r.Pool != "" {
		t.Fatalf("out-of-pool assignment %+v %v", r, ok)
	}
	if got, w := a.OutOfPool(), []Held{{"ns/gone", ipOf("198.19.9.9")}, {"ns/gone", ipOf("2001:db8:9::9")}}; !slices.Equal(got, w) {
		t.Fatalf("OutOfPool = %v, want %v", got, w)
	}
	// Conflicts name the holder and change nothing.
	before := dump(a)
	for _, c := range []struct {
		ips      []netip.Addr
		sh       Sharing
		sentinel error
		msg      string
	}{
		{ips("198.18.0.1"), Sharing{}, ErrInUse, "cannot restore ns/x: IP already in use: 198.18.0.1 is used by ns/new"},
		{ips("198.18.0.0"), Sharing{Key: "k", Ports: []Port{tcp(80)}}, ErrSharingConflict, "ns/in, which also uses port TCP/80"},
		{ips("198.18.0.0"), Sharing{Key: "other"}, ErrSharingConflict, "ns/in with a different sharing key"},
	} {
		err := a.Restore("ns/x", c.ips, c.sh)
		if !errors.Is(err, c.sentinel) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Restore error %v, want %v containing %q", err, c.sentinel, c.msg)
		}
	}
	for _, bad := range [][]netip.Addr{nil, ips("198.18.0.2", "198.18.0.3"), {netip.Addr{}}} {
		if err := a.Restore("ns/x", bad, Sharing{}); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("Restore(%v) = %v", bad, err)
		}
	}
	if err := a.Restore("", ips("198.18.0.2"), Sharing{}); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("Restore with empty key = %v", err)
	}
	if dump(a) != before {
		t.Fatal("failed Restore changed state")
	}
	// A compatible sharer may be restored onto the same IP.
	if err := a.Restore("ns/in2", ips("198.18.0.0"), Sharing{Key: "k", Ports: []Port{tcp(443)}}); err != nil {
		t.Fatal(err)
	}
	// Assign keeps a restored in-pool IP; moves an out-of-pool one.
	want(t, a, Request{Key: "ns/in", Families: v4, Sharing: sh}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/gone", Families: v4}, "a", "198.18.0.2")
	if len(a.OutOfPool()) != 0 {
		t.Fatalf("OutOfPool after move: %v", a.OutOfPool())
	}
	// Restore replaces what a key held.
	if err := a.Restore("ns/gone", ips("198.18.0.3"), Sharing{}); err != nil {
		t.Fatal(err)
	}
	if o := a.Owners(ipOf("198.18.0.2")); o != nil {
		t.Fatalf("old IP still owned: %v", o)
	}
}

func TestSetPools(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/30"), auto("b", "198.18.1.0/30"))
	want(t, a, Request{Key: "ns/s", Families: v4, Pool: "a"}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/t", Families: v4, Pool: "b"}, "b", "198.18.1.0")
	// Remove pool b and grow a: both assignments are kept.
	if err := a.SetPools([]Pool{auto("a", "198.18.0.0/29")}); err != nil {
		t.Fatal(err)
	}
	if r, _ := a.Assignment("ns/t"); r.Pool != "" || !slices.Equal(r.IPs, ips("198.18.1.0")) {
		t.Fatalf("ns/t = %+v", r)
	}
	if got := a.OutOfPool(); !slices.Equal(got, []Held{{"ns/t", ipOf("198.18.1.0")}}) {
		t.Fatalf("OutOfPool = %v", got)
	}
	if s, _ := a.PoolStats("a"); s.IPv4 != (FamilyStats{Total: 8, Assigned: 1, Available: 7}) {
		t.Fatalf("stats %+v", s)
	}
	if _, ok := a.PoolStats("b"); ok {
		t.Fatal("stats for removed pool")
	}
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.0")
	want(t, a, Request{Key: "ns/t", Families: v4}, "a", "198.18.0.1")
	// Bring pool b back: an IP in it is claimed again.
	if err := a.Restore("ns/u", ips("198.18.1.1"), Sharing{}); err != nil {
		t.Fatal(err)
	}
	if err := a.SetPools([]Pool{auto("a", "198.18.0.0/29"), auto("b", "198.18.1.0/30")}); err != nil {
		t.Fatal(err)
	}
	if s, _ := a.PoolStats("b"); s.IPv4 != (FamilyStats{Total: 4, Assigned: 1, Available: 3}) {
		t.Fatalf("stats b %+v", s)
	}
	// Turning on avoidBuggyIPs moves a .0 holder on its next Assign.
	if err := a.SetPools([]Pool{{Name: "a", Ranges: ranges("198.18.0.0/29"), AutoAssign: true, AvoidBuggyIPs: true}}); err != nil {
		t.Fatal(err)
	}
	// .0 is still held (Assigned counts it) but is neither usable nor free.
	if s, _ := a.PoolStats("a"); s.IPv4 != (FamilyStats{Total: 7, Assigned: 2, Available: 6}) {
		t.Fatalf("stats a %+v", s)
	}
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.2")

	// Invalid configurations are rejected and the old one stays.
	before := dump(a)
	for _, c := range []struct {
		pools []Pool
		msg   string
	}{
		{[]Pool{auto("", "198.18.0.0/30")}, "no name"},
		{[]Pool{auto("a", "198.18.0.0/30"), auto("a", "198.18.1.0/30")}, `two pools are named "a"`},
		{[]Pool{auto("a", "198.18.0.0/30"), auto("b", "198.18.0.2-198.18.0.9")}, `pools "a" (198.18.0.0/30) and "b" (198.18.0.2-198.18.0.9) overlap`},
		{[]Pool{auto("a", "198.18.0.0/30", "198.18.0.3")}, `pool "a" has overlapping ranges`},
		{[]Pool{{Name: "a", Priority: -1}}, "negative priority"},
		{[]Pool{{Name: "a", Ranges: []addr.Range{{First: ipOf("198.18.0.2"), Last: ipOf("198.18.0.1")}}}}, "invalid range"},
		{[]Pool{{Name: "a", Ranges: []addr.Range{addr.SingleAddr(ipOf("::ffff:198.18.0.1"))}}}, "invalid range"},
	} {
		if err := a.SetPools(c.pools); !errors.Is(err, ErrInvalidPools) || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("SetPools error %v, want %q", err, c.msg)
		}
	}
	if dump(a) != before {
		t.Fatal("rejected SetPools changed state")
	}
}

func TestBigIPv6Pools(t *testing.T) {
	a := newAlloc(t, auto("p64", "2001:db8::/64"), auto("p48", "2001:db8:1::/48"))
	s, _ := a.PoolStats("p64")
	if s.IPv6.Total != math.MaxUint64 || s.IPv6.Available != math.MaxUint64 {
		t.Fatalf("/64 stats %+v", s)
	}
	want(t, a, Request{Key: "ns/a", Families: v6}, "p48", "2001:db8:1::") // p48 sorts first by name
	want(t, a, Request{Key: "ns/b", Families: v6, Pool: "p64"}, "p64", "2001:db8::")
	want(t, a, Request{Key: "ns/c", Families: v6, Pool: "p64"}, "p64", "2001:db8::1")
	s, _ = a.PoolStats("p64")
	// 2^64 - 2 fits in uint64 exactly; a saturating counter would be off.
	if s.IPv6.Available != math.MaxUint64-1 || s.IPv6.Assigned != 2 {
		t.Fatalf("/64 stats after two %+v", s)
	}
	s, _ = a.PoolStats("p48")
	if s.IPv6.Available != math.MaxUint64 || s.IPv6.Total != math.MaxUint64 {
		t.Fatalf("/48 stats %+v", s)
	}
	want(t, a, Request{Key: "ns/d", IPs: ips("2001:db8:1:ffff:ffff:ffff:ffff:ffff")}, "p48", "2001:db8:1:ffff:ffff:ffff:ffff:ffff")
}

func TestLookups(t *testing.T) {
	a := newAlloc(t, auto("a", "198.18.0.0/30"))
	if _, ok := a.Assignment("ns/none"); ok || a.Release("ns/none") || a.Owners(ipOf("198.18.0.0")) != nil {
		t.Fatal("lookups on empty allocator")
	}
	want(t, a, Request{Key: "ns/s", Families: v4}, "a", "198.18.0.0")
	if r, ok := a.Assignment("ns/s"); !ok || r.Pool != "a" {
		t.Fatalf("Assignment = %+v", r)
	}
	if !a.Release("ns/s") {
		t.Fatal("Release = false")
	}
	if FamilyPolicy(9).String() != "FamilyPolicy(9)" || PreferDualStack.String() != "PreferDualStack" || tcp(80).String() != "TCP/80" {
		t.Fatal("String methods")
	}
}

func TestConcurrent(t *testing.T) {
	a := newAlloc(t, auto("p", "198.18.0.0/24", "2001:db8::/64"))
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 200; i++ {
				key := "ns/g" + u(uint64(g)) + "-" + u(uint64(i%7))
				if _, err := a.Assign(Request{Key: key, Families: v46, Policy: PreferDualStack}); err != nil {
					t.Error(err)
					return
				}
				a.Stats()
				if i%3 == 0 {
					a.Release(key)
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

// TestRestrictedPoolsFirst: a pool whose serviceAllocation admits the
// Service is preferred over open pools whatever the priorities (MetalLB's
// pinned pools); when it is full the open pools still serve.
func TestRestrictedPoolsFirst(t *testing.T) {
	a := newAlloc(t,
		Pool{Name: "default", Ranges: ranges("198.18.0.1-198.18.0.9"), AutoAssign: true, Priority: 1},
		Pool{Name: "tenant", Ranges: ranges("198.18.1.1"), AutoAssign: true, Restricted: true},
		Pool{Name: "other-tenant", Ranges: ranges("198.18.2.1"), AutoAssign: true, Restricted: true, Priority: 1},
	)
	tenant := func(p string) bool { return p != "other-tenant" }
	open := func(p string) bool { return p == "default" }
	want(t, a, Request{Key: "tenant/s1", Families: v4, Allowed: tenant}, "tenant", "198.18.1.1")
	want(t, a, Request{Key: "web/s1", Families: v4, Allowed: open}, "default", "198.18.0.1")
	// The tenant pool is full: the open pool is the fallback.
	want(t, a, Request{Key: "tenant/s2", Families: v4, Allowed: tenant}, "default", "198.18.0.2")
}
