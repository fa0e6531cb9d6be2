package bgp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/rpc"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/netlab"
	"github.com/barelb/barelb/testsupport/reexec"
	"github.com/go-logr/logr/funcr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// The FRR tests run each speaker as a separate process inside a node
// namespace: GoBGP dials from whatever OS thread its goroutines land on,
// so an in-process server cannot be confined to one namespace, and a
// process is also what a test must kill to see a speaker die without a
// NOTIFICATION. The helper is this test binary re-executed with
// speakerSocketEnv set; it serves the Server API over net/rpc on a unix
// socket (unix sockets are reachable across network namespaces).

const (
	speakerSocketEnv = "BARELB_BGP_SPEAKER_SOCKET"
	speakerVEnv      = "BARELB_BGP_SPEAKER_V"
)

func TestMain(m *testing.M) {
	reexec.ServeIfChild(speakerSocketEnv, &SpeakerRPC{})
	os.Exit(m.Run())
}

// SpeakerRPC is the helper's RPC surface, a thin shell around Server.
type SpeakerRPC struct {
	mu  sync.Mutex
	srv *Server
	reg *prometheus.Registry
}

// ErrMap carries per-object errors as strings over gob.
type ErrMap map[string]string

// AdsReply reports SetAdvertisements' errors and when the call started
// and returned, by the helper's clock (the same host clock as the test's).
type AdsReply struct {
	Errs       ErrMap
	Other      string
	Start, End time.Time
}

func errMap(err error) (ErrMap, string) {
	if err == nil {
		return nil, ""
	}
	m := ErrMap{}
	other := ""
	switch e := err.(type) {
	case PeerErrors:
		for k, v := range e {
			m[k] = v.Error()
		}
	default:
		var ae AdvertisementErrors
		if errors.As(err, &ae) {
			for k, v := range ae {
				m[k] = v.Error()
			}
		}
		other = err.Error()
	}
	return m, other
}

func (h *SpeakerRPC) Init(opts Options, _ *struct{}) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	v, _ := strconv.Atoi(os.Getenv(speakerVEnv))
	log := funcr.New(func(prefix, args string) {
		fmt.Fprintf(os.Stderr, "%s %s %s\n", time.Now().Format("15:04:05.000"), prefix, args)
	}, funcr.Options{Verbosity: v})
	h.reg = prometheus.NewRegistry()
	srv, err := New(log, h.reg, opts)
	h.srv = srv
	return err
}

func (h *SpeakerRPC) SetPeers(peers []bgpmodel.Peer, reply *ErrMap) error {
	err := h.srv.SetPeers(context.Background(), peers)
	*reply, _ = errMap(err)
	if _, ok := err.(PeerErrors); err != nil && !ok {
		return err
	}
	return nil
}

func (h *SpeakerRPC) SetAdvertisements(ads []bgpmodel.Advertisement, reply *AdsReply) error {
	reply.Start = time.Now()
	err := h.srv.SetAdvertisements(context.Background(), ads)
	reply.End = time.Now()
	reply.Errs, reply.Other = errMap(err)
	return nil
}

func (h *SpeakerRPC) PeerStates(_ struct{}, reply *[]PeerState) error {
	*reply = h.srv.PeerStates(context.Background())
	return nil
}

func (h *SpeakerRPC) Shutdown(_ struct{}, _ *struct{}) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return h.srv.Shutdown(ctx)
}

func (h *SpeakerRPC) Metrics(_ struct{}, reply *string) error {
	mfs, err := h.reg.Gather()
	if err != nil {
		return err
	}
	var b bytes.Buffer
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			return err
		}
	}
	*reply = b.String()
	return nil
}

// speaker is the test's handle on one helper process.
type speaker struct {
	t    testing.TB
	ns   *netlab.Namespace
	proc *netlab.Process
	cl   *rpc.Client
	out  *reexec.Output
}

// startSpeaker runs a helper in ns and initialises its Server.
func startSpeaker(t testing.TB, ns *netlab.Namespace, opts Options) *speaker {
	t.Helper()
	v := os.Getenv(speakerVEnv)
	if v == "" {
		v = "1"
	}
	child := reexec.Start(t, ns, speakerSocketEnv, speakerVEnv+"="+v)
	sp := &speaker{t: t, ns: ns, proc: child.Proc, cl: child.Client, out: child.Out}
	t.Cleanup(func() {
		sp.proc.Kill()
		if r := unexpectedRaces(sp.out.String()); r != "" {
			t.Errorf("the race detector reported a data race in the speaker in %s:\n%s", ns.Name, r)
		}
	})
	sp.call("SpeakerRPC.Init", opts, &struct{}{})
	return sp
}

// unexpectedRaces returns the race detector reports in a speaker's output
// other than the known one inside GoBGP: StartBgp assigns package-level
// route selection options (table.SelectionOptions, UseMultiplePaths) that
// every other instance in the process reads. barelb always sets the same
// values, so the race is benign, but it is GoBGP's to fix.
func unexpectedRaces(out string) string {
	var bad []string
	for _, r := range strings.Split(out, "WARNING: DATA RACE")[1:] {
		r, _, _ = strings.Cut(r, "==================")
		if !strings.Contains(r, "(*BgpServer).StartBgp") {
			bad = append(bad, "WARNING: DATA RACE"+r)
		}
	}
	return strings.Join(bad, "\n")
}

func (sp *speaker) call(method string, args, reply any) {
	sp.t.Helper()
	if err := sp.cl.Call(method, args, reply); err != nil {
		sp.t.Fatalf("%s in %s: %v", method, sp.ns.Name, err)
	}
}

func (sp *speaker) SetPeers(peers ...bgpmodel.Peer) ErrMap {
	sp.t.Helper()
	var r ErrMap
	sp.call("SpeakerRPC.SetPeers", peers, &r)
	return r
}

func (sp *speaker) SetAds(ads ...bgpmodel.Advertisement) AdsReply {
	sp.t.Helper()
	var r AdsReply
	sp.call("SpeakerRPC.SetAdvertisements", ads, &r)
	return r
}

func (sp *speaker) States() []PeerState {
	sp.t.Helper()
	var r []PeerState
	sp.call("SpeakerRPC.PeerStates", struct{}{}, &r)
	return r
}

func (sp *speaker) State(name string) PeerState {
	sp.t.Helper()
	for _, s := range sp.States() {
		if s.Name == name {
			return s
		}
	}
	sp.t.Fatalf("no session %q in %s", name, sp.ns.Name)
	return PeerState{}
}

func (sp *speaker) Metrics() string {
	sp.t.Helper()
	var r string
	sp.call("SpeakerRPC.Metrics", struct{}{}, &r)
	return r
}

func (sp *speaker) Shutdown() {
	sp.t.Helper()
	sp.call("SpeakerRPC.Shutdown", struct{}{}, &struct{}{})
}

// Exit closes the control connection; the helper exits like a speaker
// process after Shutdown, closing its remaining sockets in the kernel.
func (sp *speaker) Exit() {
	sp.cl.Close()
	sp.cl = nil
	select {
	case <-sp.proc.Done():
	case <-time.After(10 * time.Second):
		sp.t.Errorf("speaker in %s did not exit", sp.ns.Name)
		sp.proc.Kill()
	}
}

// Freeze stops the process without closing anything: its TCP sessions stay
// open in the kernel but send no KEEPALIVEs, like a hung or crashed node
// whose link stays up.
func (sp *speaker) Freeze() {
	sp.t.Helper()
	if err := sp.proc.Signal(syscall.SIGSTOP); err != nil {
		sp.t.Fatal(err)
	}
}

// Kill ends the process with SIGKILL: no NOTIFICATION is sent, but the
// kernel closes its sockets.
func (sp *speaker) Kill() { sp.proc.Kill() }

// announcing starts a speaker in ns that announces lbIP to peer. The
// advertisement goes first, so the session starts with the full table
// and End-of-RIB follows it.
func announcing(t testing.TB, ns *netlab.Namespace, opts Options, peer bgpmodel.Peer) *speaker {
	t.Helper()
	sp := startSpeaker(t, ns, opts)
	sp.SetAds(bgpmodel.Advertisement{Name: "svc", Prefix: lbIP})
	if errs := sp.SetPeers(peer); len(errs) > 0 {
		t.Fatal(errs)
	}
	return sp
}
