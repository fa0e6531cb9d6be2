package kube

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/api/v1beta2"
	"github.com/barelb/barelb/internal/config"
)

// ListConfig lists every configuration kind in namespace into the input
// config.Build takes (InUse is the caller's). The controller and the
// speakers read their configuration through it, so both see the same
// objects. Cost: six Lists, from the cache when c is a cached client.
func ListConfig(ctx context.Context, c client.Reader, namespace string) (config.Input, error) {
	var (
		pools   v1beta1.IPAddressPoolList
		l2Advs  v1beta1.L2AdvertisementList
		bgpAdvs v1beta1.BGPAdvertisementList
		peers   v1beta2.BGPPeerList
		comms   v1beta1.CommunityList
		bfds    v1beta1.BFDProfileList
	)
	for _, l := range []struct {
		list client.ObjectList
		what string
	}{
		{&pools, "IPAddressPools"}, {&l2Advs, "L2Advertisements"}, {&bgpAdvs, "BGPAdvertisements"},
		{&peers, "BGPPeers"}, {&comms, "Communities"}, {&bfds, "BFDProfiles"},
	} {
		if err := c.List(ctx, l.list, client.InNamespace(namespace)); err != nil {
			return config.Input{}, fmt.Errorf("listing %s: %w", l.what, err)
		}
	}
	return config.Input{
		Pools: pools.Items, L2Advertisements: l2Advs.Items, BGPAdvertisements: bgpAdvs.Items,
		Peers: peers.Items, Communities: comms.Items, BFDProfiles: bfds.Items,
	}, nil
}
