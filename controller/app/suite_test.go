package app_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/controller/app"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	log.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapLevel())))
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

var nsCounter atomic.Int32

// fixture is one test's namespaces and controller.
type fixture struct {
	t     *testing.T
	ctx   context.Context
	c     client.Client
	cfgNS string // barelb's configuration namespace
	ns    string // where the test's Services live
	stop  func()
	// strays turns on the controller's report of objects outside cfgNS.
	strays bool
	// cfg, if set, is the controller's API client configuration instead
	// of env.Config (a counting transport, say).
	cfg *rest.Config
}

// newFixture creates fresh namespaces and starts a controller watching the
// test's configuration namespace. Services are deleted when the test ends
// so the next test's controller starts from a clean slate.
//
// set, if given, changes the fixture before its controller starts: a
// controller stopped right after its start may have created its Lease
// on the server without hearing so, and the next one would then wait out
// the lease.
func newFixture(t *testing.T, set ...func(*fixture)) *fixture {
	t.Helper()
	n := nsCounter.Add(1)
	f := &fixture{t: t, ctx: context.Background(), c: env.Client, cfgNS: fmt.Sprintf("barelb-cfg-%d", n), ns: fmt.Sprintf("apps-%d", n)}
	for _, ns := range []string{f.cfgNS, f.ns} {
		check.Must(t, f.c.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	t.Cleanup(func() {
		if f.stop != nil {
			f.stop()
		}
		var svcs corev1.ServiceList
		_ = f.c.List(f.ctx, &svcs)
		for i := range svcs.Items {
			_ = f.c.Delete(f.ctx, &svcs.Items[i])
		}
	})
	for _, fn := range set {
		fn(f)
	}
	f.startController()
	return f
}

func (f *fixture) startController() {
	f.t.Helper()
	opts := app.Options{
		Namespace: f.cfgNS, MetricsAddr: "0", HealthAddr: "0", LeaderElect: true,
		LeaseDuration: 15 * time.Second, Workers: 4, APIQPS: 500, APIBurst: 1000,
		StatusFlushInterval: 100 * time.Millisecond,
		// Every fixture has its own configuration namespace on one
		// API server; TestStraysReported turns the check back on.
		SkipStrayCheck: !f.strays,
	}
	cfg := env.Config
	if f.cfg != nil {
		cfg = f.cfg
	}
	mgr, err := app.NewManager(cfg, opts)
	check.Must(f.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	f.stop = func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				f.t.Errorf("controller exited: %v", err)
			}
		case <-time.After(30 * time.Second):
			f.t.Errorf("controller did not stop within 30s")
		}
		f.stop = nil
	}
}

func (f *fixture) pool(name string, mut func(*v1beta1.IPAddressPool), addrs ...string) *v1beta1.IPAddressPool {
	f.t.Helper()
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	if mut != nil {
		mut(p)
	}
	check.Must(f.t, f.c.Create(f.ctx, p))
	return p
}

func (f *fixture) svc(name string, mut ...func(*corev1.Service)) *corev1.Service {
	f.t.Helper()
	s := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
		},
	}
	for _, m := range mut {
		m(s)
	}
	check.Must(f.t, f.c.Create(f.ctx, s))
	return s
}

// ips polls until the Service's ingress satisfies ok, and returns it.
func (f *fixture) waitIPs(name string, ok func([]string) bool, what string) []string {
	f.t.Helper()
	var got []string
	err := check.Poll(10*time.Second, func() bool {
		var s corev1.Service
		if err := f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: name}, &s); err != nil {
			return false
		}
		got = got[:0]
		for _, in := range s.Status.LoadBalancer.Ingress {
			got = append(got, in.IP)
		}
		return ok(got)
	})
	if err != nil {
		f.t.Fatalf("service %s: %s: last ingress %v", name, what, got)
	}
	return got
}

func (f *fixture) assigned(name string) []string {
	f.t.Helper()
	return f.waitIPs(name, func(ips []string) bool { return len(ips) > 0 }, "never got an address")
}

// waitEvent polls for an Event on the object with reason whose note
// contains frag, and returns how many such Events exist.
func (f *fixture) waitEvent(ns, name, reason, frag string) {
	f.t.Helper()
	var seen []string
	err := check.Poll(10*time.Second, func() bool {
		seen = seen[:0]
		for _, e := range f.events(ns, name) {
			seen = append(seen, e.Reason+": "+e.Note)
			if (reason == "" || e.Reason == reason) && contains(e.Note, frag) {
				return true
			}
		}
		return false
	})
	if err != nil {
		f.t.Fatalf("no %s event containing %q on %s/%s; events: %v", reason, frag, ns, name, seen)
	}
}

func (f *fixture) events(ns, name string) []eventsv1.Event {
	var evs eventsv1.EventList
	if err := f.c.List(f.ctx, &evs, client.InNamespace(ns)); err != nil {
		f.t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range evs.Items {
		if e.Regarding.Name == name {
			out = append(out, e)
		}
	}
	return out
}

func contains(s, frag string) bool { return strings.Contains(s, frag) }

func zapLevel() zapcore.Level {
	if os.Getenv("BARELB_TEST_VERBOSE") != "" {
		return zapcore.DebugLevel
	}
	return zapcore.ErrorLevel
}
