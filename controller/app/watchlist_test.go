package app_test

import (
	"os"
	"testing"

	clientfeatures "k8s.io/client-go/features"

	"github.com/barelb/barelb/controller/app"
	"github.com/barelb/barelb/testsupport/check"
)

// TestNewManagerDisablesWatchList: the controller's informers must sync by
// a plain LIST. An API server whose watch cache for a kind is not ready
// refuses client-go's streaming list (WatchListClient) with Retry-After:
// 1s, and the first address waits for every informer (issue #14).
func TestNewManagerDisablesWatchList(t *testing.T) {
	if _, set := os.LookupEnv("KUBE_FEATURE_WatchListClient"); set {
		t.Skip("KUBE_FEATURE_WatchListClient is set: the operator's choice wins")
	}
	g, ok := clientfeatures.FeatureGates().(interface {
		Set(clientfeatures.Feature, bool) error
	})
	if !ok {
		t.Fatalf("client-go's feature gates (%T) cannot be set", clientfeatures.FeatureGates())
	}
	// Earlier tests may have built a manager already; start from the
	// library's default so this one sees NewManager's own effect.
	check.Must(t, g.Set(clientfeatures.WatchListClient, true))
	_, err := app.NewManager(env.Config, app.Options{Namespace: "watchlist-test", MetricsAddr: "0", HealthAddr: "0"})
	check.Must(t, err)
	if clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient) {
		t.Fatal("WatchListClient is still enabled after NewManager")
	}
}
