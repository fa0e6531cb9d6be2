package bgp

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/barelb/barelb/internal/bgpmodel"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
)

// These tests exercise Server without the network: every peer they pass
// is refused before a session would dial, so nothing leaves the host's
// namespace. Sessions are covered by the FRR tests.

func TestServerRefusesInvalidPeers(t *testing.T) {
	reg := prometheus.NewRegistry()
	s, err := New(logr.Discard(), reg, Options{RouterID: netip.MustParseAddr("198.18.0.11")})
	check.Must(t, err)
	ctx := context.Background()
	bfd, vrf := validPeer(), validPeer()
	bfd.BFD = bgpmodel.BFDProfile{Name: "fast", DetectMultiplier: 1}
	vrf.Name, vrf.VRF = "red", "red"
	err = s.SetPeers(ctx, []bgpmodel.Peer{bfd, vrf})
	var pe PeerErrors
	if !errors.As(err, &pe) || !errors.Is(pe["tor"], ErrInvalidPeer) || !errors.Is(pe["red"], ErrUnsupported) {
		t.Fatalf("SetPeers error %v", err)
	}
	if st := s.PeerStates(ctx); len(st) != 0 {
		t.Errorf("refused peers have sessions: %+v", st)
	}
	err = s.SetAdvertisements(ctx, []bgpmodel.Advertisement{{Name: "bad", Prefix: netip.MustParsePrefix("198.19.0.1/24")}})
	var ae AdvertisementErrors
	if !errors.As(err, &ae) || !errors.Is(ae["bad"], ErrInvalidAdvert) {
		t.Errorf("SetAdvertisements error %v", err)
	}
	// Without sessions only BFD's discard counters (all zero) exist.
	if n, err := reg.Gather(); err != nil || len(n) != 1 || n[0].GetName() != "barelb_bfd_discarded_packets_total" {
		t.Errorf("metrics without sessions: %v %v", n, err)
	}
	check.Must(t, s.Shutdown(ctx))
	check.Must(t, s.Shutdown(ctx))
	if err := s.SetPeers(ctx, nil); !errors.Is(err, ErrServerShutDown) {
		t.Errorf("SetPeers after Shutdown: %v", err)
	}
	if err := s.SetAdvertisements(ctx, nil); !errors.Is(err, ErrServerShutDown) {
		t.Errorf("SetAdvertisements after Shutdown: %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := New(logr.Discard(), nil, Options{RouterID: netip.MustParseAddr("2001:db8::1")}); err == nil {
		t.Error("IPv6 default router ID accepted")
	}
	reg := prometheus.NewRegistry()
	if _, err := New(logr.Discard(), reg, Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(logr.Discard(), reg, Options{}); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Errorf("second registration: %v", err)
	}
}
