package allocator

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/barelb/barelb/internal/addr"
)

// fuzzer turns fuzz input into allocator operations over a small address
// universe (16 IPv4 addresses across a .255/.0 boundary, 16 IPv6), so the
// invariants can be checked by brute force after every operation, and so
// that pools run out often.
type fuzzer struct {
	t     *testing.T
	data  []byte
	a     *Allocator
	pools []Pool
	// outcomes counts Assign results by kind, when set (TestRandomOps).
	outcomes map[string]int
}

var sentinels = map[string]error{
	"ErrExhausted": ErrExhausted, "ErrNoPoolAllowed": ErrNoPoolAllowed, "ErrNotInPool": ErrNotInPool,
	"ErrInUse": ErrInUse, "ErrSharingConflict": ErrSharingConflict, "ErrFamilyNotAvailable": ErrFamilyNotAvailable,
	"ErrUnknownPool": ErrUnknownPool, "ErrIPsSpanPools": ErrIPsSpanPools, "ErrInvalidRequest": ErrInvalidRequest,
}

func (f *fuzzer) count(res Result, err error) {
	if f.outcomes == nil {
		return
	}
	if err == nil {
		f.outcomes["ok"]++
		for _, ip := range res.IPs {
			if len(f.a.Owners(ip)) > 1 {
				f.outcomes["shared"]++
			}
		}
		return
	}
	for name, s := range sentinels {
		if errors.Is(err, s) {
			f.outcomes[name]++
			return
		}
	}
	f.t.Fatalf("Assign error %v wraps no sentinel", err)
}

var (
	fuzzV4    = addr.MustParseRange("198.18.0.248-198.18.1.7")
	fuzzV6    = addr.MustParseRange("2001:db8::-2001:db8::f")
	fuzzOut   = []netip.Addr{netip.MustParseAddr("198.19.0.1"), netip.MustParseAddr("2001:db8:ff::1")}
	fuzzPorts = []Port{{"TCP", 53}, {"UDP", 53}, {"TCP", 80}}
)

func (f *fuzzer) byte() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

func (f *fuzzer) n(max int) int { return int(f.byte()) % max }

func (f *fuzzer) key() string { return fmt.Sprintf("ns/s%d", f.n(8)) }

func (f *fuzzer) ip() netip.Addr {
	i := f.n(34)
	switch {
	case i < 16:
		a, _ := addr.Add(fuzzV4.First, uint64(i))
		return a
	case i < 32:
		a, _ := addr.Add(fuzzV6.First, uint64(i-16))
		return a
	}
	return fuzzOut[i-32]
}

func (f *fuzzer) sharing() Sharing {
	b := f.byte()
	sh := Sharing{Key: []string{"", "k1", "k2", "k1"}[b&3], Compat: []string{"c1", "c2"}[b>>2&1]}
	for i, p := range fuzzPorts {
		if b>>(3+i)&1 == 1 {
			sh.Ports = append(sh.Ports, p)
		}
	}
	return sh
}

// genPools cuts each universe into segments owned by up to three pools.
func (f *fuzzer) genPools() []Pool {
	np := f.n(4)
	pools := make([]Pool, np)
	for i := range pools {
		b := f.byte()
		pools[i] = Pool{Name: fmt.Sprintf("p%d", i), AutoAssign: b&3 != 0, AvoidBuggyIPs: b&4 != 0, Priority: int(b>>3) % 3}
	}
	for _, u := range []addr.Range{fuzzV4, fuzzV6} {
		for at := u.First; u.Contains(at); {
			n := uint64(f.n(6))
			last, _ := addr.Add(at, n)
			if !u.Contains(last) {
				last = u.Last
			}
			if owner := f.n(np + 1); owner < np {
				pools[owner].Ranges = append(pools[owner].Ranges, addr.Range{First: at, Last: last})
			}
			at = last.Next()
		}
	}
	return pools
}

func (f *fuzzer) request() Request {
	req := Request{Key: f.key(), Policy: FamilyPolicy(f.n(3)), Sharing: f.sharing()}
	req.Families = [][]addr.Family{v4, v6, v46, v64}[f.n(4)]
	switch f.n(4) {
	case 1:
		req.IPs = []netip.Addr{f.ip()}
	case 2:
		req.IPs = []netip.Addr{f.ip(), f.ip()}
		if f.n(2) == 0 { // mostly a dual-stack pair
			v6, _ := addr.Add(fuzzV6.First, uint64(f.n(16)))
			req.IPs[1] = v6
		}
	}
	if f.n(8) == 0 || (len(req.IPs) > 0 && f.n(2) == 0) {
		req.Families = nil
	}
	if f.n(3) == 0 {
		req.Pool = fmt.Sprintf("p%d", f.n(4))
	}
	if mask := f.n(16); mask < 8 {
		req.Allowed = func(p string) bool {
			var i int
			fmt.Sscanf(p, "p%d", &i)
			return mask>>i&1 == 1
		}
	}
	return req
}

func FuzzAllocator(f *testing.F) {
	f.Add([]byte{4, 3, 0, 5, 9, 1, 2, 3, 1, 0, 0, 2, 1, 0, 0, 0, 0, 0, 2, 3, 1, 0, 7, 0, 1, 1})
	f.Add([]byte{4, 2, 2, 4, 11, 0, 11, 1, 11, 2, 11, 0, 11, 1, 0, 0, 1, 2, 3, 2, 1, 1, 0, 0, 8, 0, 1, 9, 0, 0})
	f.Add([]byte{4, 1, 0, 11, 0, 11, 0, 11, 0, 11, 0, 0, 1, 9, 2, 2, 1, 1, 8, 0, 0, 0, 3, 2, 40, 1, 0, 2, 3})
	f.Fuzz(func(t *testing.T, data []byte) {
		fz := &fuzzer{t: t, data: data, a: New()}
		for op := 0; len(fz.data) > 0 && op < 64; op++ {
			fz.step()
			fz.check()
		}
	})
}

func (f *fuzzer) step() {
	a := f.a
	switch f.n(5) {
	case 0, 1:
		req := f.request()
		before := dump(a)
		res, err := a.Assign(req)
		f.count(res, err)
		if err != nil {
			if after := dump(a); after != before {
				f.t.Fatalf("failed Assign %+v (%v) changed state:\n%s->\n%s", req, err, before, after)
			}
			return
		}
		f.checkResult(req, res)
		again, err := a.Assign(req)
		if err != nil || again.Pool != res.Pool || !slices.Equal(again.IPs, res.IPs) {
			f.t.Fatalf("Assign not idempotent: %v then %v, %v", res, again, err)
		}
	case 2:
		a.Release(f.key())
	case 3:
		key, ips, sh := f.key(), []netip.Addr{f.ip()}, f.sharing()
		if f.n(2) == 1 {
			ips = append(ips, f.ip())
		}
		before := dump(a)
		if err := a.Restore(key, ips, sh); err != nil {
			if !errors.Is(err, ErrInUse) && !errors.Is(err, ErrSharingConflict) && !errors.Is(err, ErrInvalidRequest) {
				f.t.Fatalf("Restore error %v has no expected sentinel", err)
			}
			if dump(a) != before {
				f.t.Fatalf("failed Restore changed state")
			}
			return
		}
		if r, _ := a.Assignment(key); !slices.Equal(r.IPs, ips) {
			f.t.Fatalf("restored %v, holds %v", ips, r.IPs)
		}
	case 4:
		pools := f.genPools()
		if err := a.SetPools(pools); err != nil {
			f.t.Fatalf("SetPools(%+v): %v", pools, err)
		}
		f.pools = pools
	}
}

func (f *fuzzer) poolOf(ip netip.Addr) *Pool {
	for i := range f.pools {
		for _, r := range f.pools[i].Ranges {
			if r.Contains(ip) {
				return &f.pools[i]
			}
		}
	}
	return nil
}

func (f *fuzzer) checkResult(req Request, res Result) {
	t := f.t
	if len(res.IPs) == 0 {
		t.Fatalf("Assign %+v gave no IPs", req)
	}
	for _, ip := range res.IPs {
		p := f.poolOf(ip)
		if p == nil || p.Name != res.Pool || (p.AvoidBuggyIPs && isBuggy(ip)) {
			t.Fatalf("Assign gave %v, not usable in pool %q", ip, res.Pool)
		}
		if req.Allowed != nil && !req.Allowed(p.Name) {
			t.Fatalf("Assign used pool %q the service may not use", p.Name)
		}
	}
	if req.Pool != "" && res.Pool != req.Pool {
		t.Fatalf("Assign used pool %q, named %q", res.Pool, req.Pool)
	}
	if len(req.IPs) > 0 {
		if !slices.Equal(res.IPs, req.IPs) {
			t.Fatalf("requested %v, got %v", req.IPs, res.IPs)
		}
		return
	}
	fams := req.Families
	if req.Policy == SingleStack {
		fams = fams[:1]
	}
	if req.Policy != PreferDualStack && len(res.IPs) != len(fams) {
		t.Fatalf("%v %v got %v", req.Policy, fams, res.IPs)
	}
	for i, ip := range res.IPs {
		if i >= len(fams) || !slices.Contains(fams, addr.FamilyOf(ip)) {
			t.Fatalf("%v %v got %v", req.Policy, fams, res.IPs)
		}
	}
}

// check verifies every invariant of the allocator against brute force.
func (f *fuzzer) check() {
	t, a := f.t, f.a
	a.mu.Lock()
	defer a.mu.Unlock()
	// Assignments and IP states agree.
	held := 0
	for key, as := range a.svcs {
		if as.key != key || len(as.ips) == 0 {
			t.Fatalf("bad assignment %q: %+v", key, as)
		}
		for _, ip := range as.ips {
			st := a.ips[ip]
			if st == nil || !slices.Contains(st.holders, key) {
				t.Fatalf("%s holds %v but the IP state does not list it", key, ip)
			}
			held++
		}
	}
	holders, indexed := 0, 0
	for _, m := range a.byKey {
		indexed += len(m)
	}
	keyed := 0
	for ip, st := range a.ips {
		if st.ip != ip || len(st.holders) == 0 || !slices.IsSorted(st.holders) {
			t.Fatalf("bad IP state %v: %+v", ip, st)
		}
		holders += len(st.holders)
		// No IP held by two incompatible Services.
		ports := map[Port]string{}
		for _, h := range st.holders {
			sh := a.svcs[h].sharing
			if sh.Key != st.key || sh.Compat != st.compat {
				t.Fatalf("%v: holder %s has sharing %+v, IP has key %q compat %q", ip, h, sh, st.key, st.compat)
			}
			if len(st.holders) > 1 && sh.Key == "" {
				t.Fatalf("%v shared by %v without a sharing key", ip, st.holders)
			}
			for _, p := range sh.Ports {
				if o, ok := ports[p]; ok && o != h {
					t.Fatalf("%v: port %v used by %s and %s", ip, p, o, h)
				}
				ports[p] = h
			}
		}
		if len(ports) != len(st.ports) {
			t.Fatalf("%v: port map %v, holders use %v", ip, st.ports, ports)
		}
		if st.key != "" {
			keyed++
			if a.byKey[st.key][ip] != st {
				t.Fatalf("%v not indexed under key %q", ip, st.key)
			}
		}
		// Every held IP is in its pool or out of every pool.
		want := f.poolOf(ip)
		if (want == nil) != (st.pool == nil) || (want != nil && want.Name != st.pool.Name) {
			t.Fatalf("%v recorded in pool %v, belongs to %v", ip, st.pool, want)
		}
	}
	if holders != held || indexed != keyed {
		t.Fatalf("holders %d vs held %d, indexed %d vs keyed %d", holders, held, indexed, keyed)
	}
	// Stats add up, by brute force.
	for _, p := range f.pools {
		got := a.ps.byName[p.Name].stats()
		var wantStats [2]FamilyStats
		for _, r := range p.Ranges {
			ws := &wantStats[famIndex(r.Family())]
			for ip := r.First; r.Contains(ip); ip = ip.Next() {
				usable := !(p.AvoidBuggyIPs && isBuggy(ip))
				_, isHeld := a.ips[ip]
				if usable {
					ws.Total++
				}
				if isHeld {
					ws.Assigned++
				} else if usable {
					ws.Available++
				}
			}
		}
		if got.IPv4 != wantStats[0] || got.IPv6 != wantStats[1] {
			t.Fatalf("pool %s stats %+v, want %+v", p.Name, got, wantStats)
		}
		for _, fs := range a.ps.byName[p.Name].free {
			if fs != nil {
				checkFreeSet(t, fs)
			}
		}
	}
}

// TestRandomOps runs the fuzz checker on pseudo-random inputs so plain
// `go test` covers it, and checks the generator reaches the interesting
// cases (successes, sharing, every error kind).
func TestRandomOps(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 11))
	outcomes := map[string]int{}
	for i := 0; i < 3000; i++ {
		data := make([]byte, 200)
		for j := range data {
			data[j] = byte(rnd.Uint32())
		}
		// Start every run with a configuration.
		data[0] = 4
		fz := &fuzzer{t: t, data: data, a: New(), outcomes: outcomes}
		for op := 0; len(fz.data) > 0 && op < 64; op++ {
			fz.step()
			fz.check()
		}
	}
	for _, k := range []string{"ok", "shared", "ErrExhausted", "ErrNoPoolAllowed", "ErrNotInPool", "ErrInUse",
		"ErrSharingConflict", "ErrFamilyNotAvailable", "ErrUnknownPool", "ErrIPsSpanPools", "ErrInvalidRequest"} {
		if outcomes[k] == 0 {
			t.Errorf("generator never produced %s (%v)", k, outcomes)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}
