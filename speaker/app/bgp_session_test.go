package app

import (
	"net/netip"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/barelb/barelb/internal/bgp"
)

// A session's Event says why it is down, BFD included.
func TestSessionEvent(t *testing.T) {
	addr := netip.MustParseAddrPort("198.18.0.1:179")
	for _, tc := range []struct {
		name   string
		st     bgp.PeerState
		reason string
		want   []string
	}{
		{"up", bgp.PeerState{State: bgp.StateEstablished, BFD: bgp.BFDUp}, ReasonSessionUp, []string{"is established"}},
		{"down, no BFD", bgp.PeerState{State: bgp.StateActive, LastError: "hold timer expired"}, ReasonSessionDown,
			[]string{"not established: hold timer expired"}},
		{"held down by BFD", bgp.PeerState{State: bgp.StateIdle, BFD: bgp.BFDDown, BFDDiag: "control detection time expired",
			LastError: "BFD session down (control detection time expired); BGP session held down until BFD is up again"},
			ReasonSessionDown, []string{"BFD session down (control detection time expired)"}},
		{"down for another reason, BFD down too", bgp.PeerState{State: bgp.StateActive, BFD: bgp.BFDDown,
			BFDDiag: "control detection time expired", LastError: "connect timed out"},
			ReasonSessionDown, []string{"connect timed out; BFD down (control detection time expired)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.st.Name, tc.st.Address = "tor", addr
			kind, reason, msg := sessionEvent("n1", tc.st)
			wantKind := corev1.EventTypeWarning
			if tc.reason == ReasonSessionUp {
				wantKind = corev1.EventTypeNormal
			}
			if kind != wantKind || reason != tc.reason {
				t.Errorf("kind %s reason %s, want %s %s", kind, reason, wantKind, tc.reason)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			// BFD's state is added only when LastError does not say it.
			if strings.Count(msg, "BFD session down")+strings.Count(msg, "BFD down") > 1 {
				t.Errorf("message %q says BFD down twice", msg)
			}
		})
	}
}
