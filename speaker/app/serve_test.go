package app

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/barelb/barelb/internal/kclient"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// /healthz answers at once; /readyz only once the caches synced and the
// speaker first tried to join the others, so that a rolling update
// replaces the next speaker only after this one is a member (see serve).
func TestReadyzWaitsForJoin(t *testing.T) {
	env, err := testenv.Start()
	check.Must(t, err)
	t.Cleanup(func() { _ = env.Stop() })
	l, err := net.Listen("tcp", "127.0.0.1:0")
	check.Must(t, err)
	addr := l.Addr().String()
	l.Close()
	direct, err := kclient.NewDirect(env.Config)
	check.Must(t, err)
	var lp loops
	opts := Options{NodeName: "n1", Namespace: "barelb-readyz", HealthAddr: addr}
	cached, err := newCache(direct, opts, &lp)
	check.Must(t, err)
	lp.l2 = kclient.NewLoop("layer2", logr.Discard(), func(context.Context) (time.Duration, error) { return 0, nil })
	lp.bgp = kclient.NewLoop("bgp", logr.Discard(), func(context.Context) (time.Duration, error) { return 0, nil })
	joined := make(chan struct{})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, logr.Discard(), opts, newRegistry(), cached, joined, []func(context.Context){lp.l2.Run, lp.bgp.Run})
	}()
	t.Cleanup(func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	get := func(path string) (int, string, error) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	check.Eventually(t, 30*time.Second, "/readyz saying it has not joined (caches synced)", func() error {
		code, body, err := get("/readyz")
		if err == nil && (code != http.StatusServiceUnavailable || !strings.Contains(body, "not joined")) {
			err = fmt.Errorf("/readyz %d %q", code, body)
		}
		return err
	})
	if code, _, err := get("/healthz"); err != nil || code != http.StatusOK {
		t.Errorf("/healthz %d %v while not ready", code, err)
	}
	close(joined)
	if code, body, err := get("/readyz"); err != nil || code != http.StatusOK {
		t.Errorf("/readyz after the first join: %d %q %v", code, body, err)
	}
}
