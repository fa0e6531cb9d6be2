package bgp

import (
	"strings"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
)

// TestFRRWrongPassword: with a TCP MD5 password that differs from the
// router's the session never comes up, PeerStates says why, and the right
// password (a peer update) brings it up.
func TestFRRWrongPassword(t *testing.T) {
	const secret = "barelb-correct-horse"
	tp := newTopo(t, 1, routerConf(1, "neighbor NODES password "+secret))
	sp := startSpeaker(t, tp.nodes[0], Options{RouterID: nodeV4(0)})
	p := nodePeer(0)
	p.Password = "barelb-wrong-horse"
	p.ConnectTime = 2 * time.Second // each attempt times out after 1s
	if errs := sp.SetPeers(p); len(errs) > 0 {
		t.Fatal(errs)
	}
	sp.SetAds(bgpmodel.Advertisement{Name: "svc", Prefix: lbIP})
	var st PeerState
	check.Eventually(t, 20*time.Second, "PeerStates explains the failing connects", func() error {
		st = sp.State("tor")
		if !strings.Contains(st.LastError, "MD5") {
			return errorf("%+v", st)
		}
		return nil
	})
	t.Logf("LastError with the wrong password: %s", st.LastError)
	if st.State == StateEstablished {
		t.Fatal("session established with the wrong password")
	}
	if strings.Contains(st.LastError, "horse") {
		t.Fatalf("LastError leaks a password: %s", st.LastError)
	}
	ns, err := tp.router.Neighbors()
	check.Must(t, err)
	if n := ns[nodeV4(0).String()]; n.Established() || n.ConnectionsEstablished != 0 {
		t.Fatalf("router established a session with the wrong password: %+v", n)
	}
	if got := fibNexthops(t, tp.router, lbIP); got != nil {
		t.Fatalf("route installed without a session: %v", got)
	}
	if m := sp.Metrics(); !strings.Contains(m, `metallb_bgp_session_up{peer="198.18.0.1:179"} 0`) {
		t.Errorf("session_up is not 0:\n%s", m)
	}

	p.Password = secret
	if errs := sp.SetPeers(p); len(errs) > 0 {
		t.Fatal(errs)
	}
	waitEstablished(t, sp, "tor")
	wantNexthops(t, tp.router, lbIP, 10*time.Second, nodeV4(0))
	if st := sp.State("tor"); st.LastError != "" {
		t.Errorf("LastError not cleared once established: %q", st.LastError)
	}
	if out := sp.out.String(); strings.Contains(out, "horse") {
		t.Errorf("speaker log contains a password")
	}
}
