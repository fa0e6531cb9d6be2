package kube

import (
	"os"
	"testing"

	clientfeatures "k8s.io/client-go/features"
)

func TestDisableWatchList(t *testing.T) {
	if _, set := os.LookupEnv(watchListEnv); set {
		t.Skip(watchListEnv + " is set: the operator's choice wins")
	}
	if !DisableWatchList() {
		t.Fatal("DisableWatchList reported the gate still on")
	}
	if clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Fatal("WatchListClient is enabled after DisableWatchList")
	}
}
