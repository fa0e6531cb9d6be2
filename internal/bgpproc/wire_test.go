package bgpproc

import (
	"errors"
	"fmt"
	"testing"

	"github.com/barelb/barelb/internal/bgpmodel"
)

// Errors keep their keys, texts and sentinels across the wire.
func TestErrorsCrossTheWire(t *testing.T) {
	peers := bgpmodel.PeerErrors{
		"no-neighbour": fmt.Errorf("interface eth1: %w", bgpmodel.ErrNoNeighbor),
		"bad":          fmt.Errorf("%w: myASN is required", bgpmodel.ErrInvalidPeer),
	}
	got := decodeErr(encodeErr(peers), true)
	var pe bgpmodel.PeerErrors
	if !errors.As(got, &pe) || len(pe) != 2 {
		t.Fatalf("decoded %#v, want PeerErrors of 2", got)
	}
	if got.Error() != peers.Error() {
		t.Errorf("text %q, want %q", got.Error(), peers.Error())
	}
	if !errors.Is(got, bgpmodel.ErrNoNeighbor) || !errors.Is(pe["no-neighbour"], bgpmodel.ErrNoNeighbor) {
		t.Error("ErrNoNeighbor lost")
	}
	if errors.Is(pe["no-neighbour"], bgpmodel.ErrInvalidPeer) || !errors.Is(pe["bad"], bgpmodel.ErrInvalidPeer) {
		t.Error("sentinels attached to the wrong peer")
	}

	ads := bgpmodel.AdvertisementErrors{"adv/198.18.5.0/24": fmt.Errorf("%w: no such peer", bgpmodel.ErrInvalidAdvert)}
	got = decodeErr(encodeErr(ads), false)
	var ae bgpmodel.AdvertisementErrors
	if !errors.As(got, &ae) || !errors.Is(ae["adv/198.18.5.0/24"], bgpmodel.ErrInvalidAdvert) || got.Error() != ads.Error() {
		t.Errorf("advertisement errors decoded as %#v", got)
	}

	other := fmt.Errorf("closing: %w", bgpmodel.ErrServerShutDown)
	got = decodeErr(encodeErr(other), true)
	if !errors.Is(got, bgpmodel.ErrServerShutDown) || got.Error() != other.Error() || errors.As(got, &pe) {
		t.Errorf("call error decoded as %#v", got)
	}
	if decodeErr(encodeErr(nil), true) != nil || decodeErr(encodeErr(nil), false) != nil {
		t.Error("nil error did not stay nil")
	}
}
