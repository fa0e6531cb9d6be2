package kube

import (
	"os"

	clientfeatures "k8s.io/client-go/features"
)

// watchListEnv is client-go's own switch for the WatchListClient gate;
// an operator who sets it keeps the final word.
const watchListEnv = "KUBE_FEATURE_WatchListClient"

// DisableWatchList turns off client-go's WatchListClient feature (on by
// default since client-go 1.35) for this process, unless watchListEnv is
// set, and reports whether the gate ends up off.
//
// Why: on an API server whose watch cache for a kind is not ready yet
// (a custom resource nothing has read since the API server started), a
// WatchList request (a watch with sendInitialEvents=true) is refused with
// 429 and Retry-After: 1s (KEP-4568), and client-go waits that second
// before retrying. An informer's LIST is answered: it asks for pages
// (a limit) without selectors, and such a LIST is served from etcd until
// the cache is ready. A LIST without a limit, as controller-runtime's
// client sends for a read that bypasses the cache, is refused with the
// same 429. The controller starts no worker before every informer has
// synced, so one refused informer delayed the first address by a second:
// measured against a fresh envtest API server, 1.15 s from process start
// to the first address in 4 of 4 runs with WatchList, 0.25 s in 9 of 16
// without (the slow ones met the 429 on the restore's configuration read,
// which went to the API server; the controller now reads it from its
// cache, see controller/app/run.go). On an API server whose caches are
// ready both take 0.25 s. The cost: each informer's initial LIST response
// is held whole in memory once.
//
// Call it before the first informer is created: client-go reads the gate
// when a reflector is built.
func DisableWatchList() bool {
	if _, set := os.LookupEnv(watchListEnv); !set {
		if g, ok := clientfeatures.FeatureGates().(interface {
			Set(clientfeatures.Feature, bool) error
		}); ok {
			// Set fails only for an unknown or locked feature; the
			// result is read back below either way.
			_ = g.Set(clientfeatures.WatchListClient, false)
		}
	}
	return !clientfeatures.FeatureGates().Enabled(clientfeatures.WatchListClient)
}
