package kube_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// Objects stored past the API server's validation, one of each kind with
// a field of the wrong type: a typed List fails as a whole and a typed
// cache never syncs (why ListConfig reads unstructured), while ListConfig
// returns every good object and names each bad one, from the API server
// and from a cache, also for objects that arrive by watch later.
func TestListConfigSurvivesUndecodableStoredObjects(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, c := context.Background(), env.Client
	const ns = "barelb-undecodable"
	check.Must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	check.Must(t, c.Create(ctx, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "good"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.10.0/24"}}}))
	bad := env.StoreUndecodableConfig(ctx, t, ns)

	// The failure this guards against, on this API server.
	var typed v1beta1.IPAddressPoolList
	if err := c.List(ctx, &typed, client.InNamespace(ns)); err == nil {
		t.Fatalf("a typed List with an undecodable pool stored succeeded (%d items): the stored object is not bad", len(typed.Items))
	}
	cc, err := cache.New(env.Config, cache.Options{Scheme: crkube.Scheme(), DefaultNamespaces: map[string]cache.Config{ns: {}}})
	check.Must(t, err)
	cctx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	go func() { _ = cc.Start(cctx) }()
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	err = cc.List(wait, &typed, client.InNamespace(ns))
	cancel()
	if err == nil {
		t.Fatal("a typed cache synced with an undecodable pool stored")
	}
	t.Logf("typed cache, as expected: %v", err)

	wantBad := func(in config.Input, extra ...string) error {
		var names []string
		for _, p := range in.Unreadable {
			names = append(names, p.Kind+"/"+p.Name)
		}
		want := slices.Clone(extra)
		for _, o := range bad {
			want = append(want, fmt.Sprint(o["kind"], "/", o["metadata"].(map[string]any)["name"]))
		}
		slices.Sort(names)
		slices.Sort(want)
		if !slices.Equal(names, want) {
			return fmt.Errorf("unreadable %v, want %v", names, want)
		}
		return nil
	}
	for _, r := range []struct {
		what string
		c    client.Reader
	}{{"API server", c}, {"cache", cc}} {
		in, err := kube.ListConfig(ctx, crkube.Reader(r.c), ns)
		if err != nil {
			t.Fatalf("%s: %v", r.what, err)
		}
		if len(in.Pools) != 1 || in.Pools[0].Name != "good" || len(in.L2Advertisements)+len(in.BGPAdvertisements)+len(in.Peers)+len(in.Communities)+len(in.BFDProfiles) != 0 {
			t.Errorf("%s: read %+v, want only the good pool", r.what, in)
		}
		if err := wantBad(in); err != nil {
			t.Errorf("%s: %v", r.what, err)
		}
		cfg, problems := config.Build(in)
		if cfg.Pools["good"] == nil || len(problems.Blocking()) != len(bad) || !strings.Contains(problems.Error(), `BGPPeer "bad-bgppeer": the stored object cannot be read`) {
			t.Errorf("%s: Build gave pools %v, problems %v", r.what, cfg.Pools, problems)
		}
	}

	// By watch: a new bad object and a new good one reach the cache.
	check.Must(t, env.StoreUnchecked(ctx, map[string]any{
		"apiVersion": "metallb.io/v1beta1", "kind": "IPAddressPool",
		"metadata": map[string]any{"namespace": ns, "name": "later-bad"},
		"spec":     map[string]any{"addresses": 5},
	}))
	check.Must(t, c.Create(ctx, &v1beta1.L2Advertisement{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later-good"}}))
	check.Eventually(t, 30*time.Second, "the cache to see both later objects", func() error {
		in, err := kube.ListConfig(ctx, crkube.Reader(cc), ns)
		if err != nil {
			return err
		}
		if len(in.L2Advertisements) != 1 || len(in.Pools) != 1 {
			return fmt.Errorf("%d L2Advertisements, %d pools", len(in.L2Advertisements), len(in.Pools))
		}
		return wantBad(in, "IPAddressPool/later-bad")
	})
}
