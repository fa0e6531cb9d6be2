package bgp

import (
	"net/netip"
	"testing"
	"time"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
)

// TestFRRPerPeerLocalAS: one speaker, two sessions to one FRR router, each
// with its own local AS, one of them a 4-byte private ASN (what a BGPPeer's
// localASN or a 4-byte myASN becomes). The router sees each session's AS,
// and the route it learns over each carries only that AS in its path.
func TestFRRPerPeerLocalAS(t *testing.T) {
	const fourByte = 4200000001
	tp := newTopo(t, 1, routerConf(1, "neighbor "+nodeV4b(0).String()+" peer-group NODES"))
	sp := startSpeaker(t, tp.nodes[0], Options{RouterID: nodeV4(0)})
	plain := nodePeer(0)
	local := nodePeer(0)
	local.Name, local.MyASN, local.Address, local.SourceAddress = "tor-local", fourByte, routerV4b, nodeV4b(0)
	if errs := sp.SetPeers(plain, local); len(errs) > 0 {
		t.Fatal(errs)
	}
	waitEstablished(t, sp, "tor")
	waitEstablished(t, sp, "tor-local")
	ns, err := tp.router.Neighbors()
	check.Must(t, err)
	if n := ns[nodeV4(0).String()]; n.RemoteAS != nodeASN {
		t.Errorf("router sees the plain session from AS %d, want %d", n.RemoteAS, nodeASN)
	}
	if n := ns[nodeV4b(0).String()]; n.RemoteAS != fourByte {
		t.Errorf("router sees the local-AS session from AS %d, want %d", n.RemoteAS, fourByte)
	}

	svc := netip.MustParsePrefix("198.19.0.40/32")
	if r := sp.SetAds(bgpmodel.Advertisement{Name: "svc", Prefix: svc}); r.Other != "" || len(r.Errs) > 0 {
		t.Fatalf("SetAds: %+v", r)
	}
	want := map[string]string{nodeV4(0).String(): "64512", nodeV4b(0).String(): "4200000001"}
	check.Eventually(t, 10*time.Second, "a path for "+svc.String()+" over each session, each with its own AS", func() error {
		paths, err := tp.router.BGPPaths(svc)
		if err != nil {
			return err
		}
		got := map[string]string{}
		for _, p := range paths {
			got[p.Peer.PeerID] = p.ASPath.String
		}
		if len(got) != 2 || got[nodeV4(0).String()] != want[nodeV4(0).String()] || got[nodeV4b(0).String()] != want[nodeV4b(0).String()] {
			return errorf("AS paths by peer %v, want %v", got, want)
		}
		return nil
	})
}
