package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/controller/app"
	"github.com/barelb/barelb/internal/lbspec"
	"github.com/barelb/barelb/testsupport/check"
	"github.com/barelb/barelb/testsupport/testenv"
)

// These tests run the command against a real API server (envtest) with
// objects the test creates; the pending cases also run the real
// controller, so the reasons shown are the ones it wrote.

var (
	env        *testenv.Env
	kubeconfig string
)

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	dir, err := os.MkdirTemp("", "kubectl-barelb-")
	if err == nil {
		kubeconfig = filepath.Join(dir, "kubeconfig")
		err = writeKubeconfig(kubeconfig)
	}
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}

// writeKubeconfig turns envtest's rest.Config into the file kubectl users
// pass with --kubeconfig.
func writeKubeconfig(path string) error {
	c := env.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "envtest"
	return clientcmd.WriteToFile(*kc, path)
}

var nsCounter int

// fixture is a test's configuration and Service namespaces.
type fixture struct {
	t         *testing.T
	ctx       context.Context
	c         client.Client
	cfgNS, ns string
}

func newFixture(t *testing.T, controller bool) *fixture {
	t.Helper()
	nsCounter++
	f := &fixture{t: t, ctx: context.Background(), c: env.Client, cfgNS: fmt.Sprintf("barelb-%d", nsCounter), ns: fmt.Sprintf("apps-%d", nsCounter)}
	for _, ns := range []string{f.cfgNS, f.ns} {
		check.Must(t, f.c.Create(f.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	}
	t.Cleanup(func() {
		var svcs corev1.ServiceList
		_ = f.c.List(f.ctx, &svcs, client.InNamespace(f.ns))
		for i := range svcs.Items {
			_ = f.c.Delete(f.ctx, &svcs.Items[i])
		}
	})
	if controller {
		mgr, err := app.NewManager(env.Config, app.Options{
			Namespace: f.cfgNS, MetricsAddr: "0", HealthAddr: "0", Workers: 2, APIQPS: 500, APIBurst: 1000,
			StatusFlushInterval: 100 * time.Millisecond,
		})
		check.Must(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- mgr.Start(ctx) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("controller: %v", err)
			}
		})
	}
	return f
}

// kubectl runs the command as `kubectl barelb args...` would.
func (f *fixture) kubectl(args ...string) (string, int) {
	var out, errOut bytes.Buffer
	all := append([]string{"--kubeconfig", kubeconfig, "--barelb-namespace", f.cfgNS, "-n", f.ns}, args...)
	code := run(context.Background(), all, &out, &errOut)
	return out.String() + errOut.String(), code
}

func (f *fixture) svc(name string, mut ...func(*corev1.Service)) {
	f.t.Helper()
	s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name}, Spec: corev1.ServiceSpec{
		Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}},
	}}
	for _, m := range mut {
		m(s)
	}
	check.Must(f.t, f.c.Create(f.ctx, s))
}

func (f *fixture) pool(name string, addrs ...string) {
	f.t.Helper()
	p := &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	check.Must(f.t, f.c.Create(f.ctx, p))
}

func annotate(k, v string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Annotations = map[string]string{lbspec.Prefix + k: v} }
}

// explainUntil polls `explain svc name` until its output holds every
// fragment (the controller writes its verdict asynchronously).
func (f *fixture) explainUntil(name string, frags ...string) string {
	f.t.Helper()
	var out string
	err := check.Poll(20*time.Second, func() bool {
		var code int
		out, code = f.kubectl("explain", "svc", name)
		if code != 0 {
			return false
		}
		for _, fr := range frags {
			if !strings.Contains(out, fr) {
				return false
			}
		}
		return true
	})
	if err != nil {
		f.t.Fatalf("explain svc %s never showed %q; last output:\n%s", name, frags, out)
	}
	return out
}

// A pending Service shows the controller's reason and ends with one
// sentence saying what to change, for each refusal.
func TestExplainPending(t *testing.T) {
	f := newFixture(t, true)
	f.svc("nopool")
	out := f.explainUntil("nopool", "<pending>", "NoAddressPoolAllowed", "no address pools are configured",
		"Pending: Create an IPAddressPool in namespace "+f.cfgNS)
	t.Logf("explain svc nopool:\n%s", out)

	// The pool's one address goes to the pending Service; the next finds
	// the pool full.
	f.pool("small", "198.18.50.1/32")
	f.explainUntil("nopool", "Assigned:     198.18.50.1 (pool small)")
	f.svc("full")
	out = f.explainUntil("full", "AddressPoolExhausted", `pool "small" has no free IPv4 address`, `Pending: Add addresses to pool "small"`)
	t.Logf("explain svc full:\n%s", out)

	f.svc("typo", annotate(lbspec.KeyAddressPool, "smal"))
	f.explainUntil("typo", "UnknownAddressPool", `Pending: Fix metallb.io/address-pool: no pool is named "smal" (pools: small).`,
		`the Service asks for pool "smal"`)

	f.svc("outside", annotate(lbspec.KeyLoadBalancerIPs, "198.18.51.9"))
	f.explainUntil("outside", "RequestedIPNotInPool", "Pending: Request an address inside an IPAddressPool, or add 198.18.51.9 to a pool.",
		"does not contain the requested 198.18.51.9")

	// -o json carries the same verdict for scripts.
	js, code := f.kubectl("explain", "svc", "full", "-o", "json")
	if code != 0 || !strings.Contains(js, `"pending": true`) || !strings.Contains(js, `"reason": "AddressPoolExhausted"`) {
		t.Fatalf("-o json (exit %d):\n%s", code, js)
	}
}

// An announced Service shows the node that announces it, on which
// interface, and why the other nodes do not, from the speakers' status.
func TestExplainAnnounced(t *testing.T) {
	f := newFixture(t, false) // the statuses are written by the test, standing in for speakers
	n1, n2, n3 := fmt.Sprintf("node-a-%d", nsCounter), fmt.Sprintf("node-b-%d", nsCounter), fmt.Sprintf("node-c-%d", nsCounter)
	for _, n := range []string{n1, n2, n3} {
		check.Must(t, f.c.Create(f.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}))
		t.Cleanup(func() { _ = f.c.Delete(f.ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n}}) })
	}
	f.pool("web-pool", "198.18.52.0/28")
	f.svc("web")
	var s corev1.Service
	check.Must(t, f.c.Get(f.ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &s))
	s.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "198.18.52.3"}}
	check.Must(t, f.c.Status().Update(f.ctx, &s))

	l2 := &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "l2-web-" + n1,
		Labels: map[string]string{"metallb.io/node": n1, "metallb.io/service-name": "web", "metallb.io/service-namespace": f.ns}}}
	check.Must(t, f.c.Create(f.ctx, l2))
	l2.Status = v1beta1.MetalLBServiceL2Status{Node: n1, ServiceName: "web", ServiceNamespace: f.ns, Interfaces: []v1beta1.InterfaceInfo{{Name: "eth1"}}}
	check.Must(t, f.c.Status().Update(f.ctx, l2))
	for node, a := range map[string]v1beta1.AnnouncementState{
		n1: {IP: "198.18.52.3", Announced: true},
		n2: {IP: "198.18.52.3", Reason: "NotElected", Winner: n1, Message: "node " + n1 + " won the election for this IP"},
	} {
		cs := &v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: node,
			Labels: map[string]string{"metallb.io/component-type": "speaker", "metallb.io/node-name": node}}}
		check.Must(t, f.c.Create(f.ctx, cs))
		cs.Status = v1beta1.ConfigurationStateStatus{Result: v1beta1.ConfigurationStateValid, Announcements: []v1beta1.AnnouncementState{a},
			Members: &v1beta1.MembersState{Alive: []string{n1, n2}, Dead: []string{n3}}}
		check.Must(t, f.c.Status().Update(f.ctx, cs))
	}
	out, code := f.kubectl("explain", "svc", "web")
	t.Logf("explain svc web:\n%s", out)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{
		"Assigned:     198.18.52.3",
		"198.18.52.3   " + n1 + "   layer2",
		"on eth1",
		n2 + "   -           NotElected: node " + n1 + " won the election for this IP",
		n3 + "   -           NoSpeakerState",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(out, "Pending:") {
		t.Errorf("an announced Service has a pending verdict")
	}
	// status shows the split memberlist view and who announces what.
	st, code := f.kubectl("status")
	t.Logf("status:\n%s", st)
	if code != 0 || !strings.Contains(st, "dead "+n3) || !strings.Contains(st, n3+"   no speaker status") {
		t.Errorf("status (exit %d) lacks the dead member or the silent node", code)
	}
	pools, code := f.kubectl("pools")
	t.Logf("pools:\n%s", pools)
	if code != 0 || !strings.Contains(pools, "1/15") || !strings.Contains(pools, f.ns+"/web") {
		t.Errorf("pools (exit %d) lacks used/free 1/15 or the Service", code)
	}
}

// doctor finds a second implementation (a MetalLB speaker DaemonSet) and
// the missing memberlist Secret, and exits non-zero.
func TestDoctor(t *testing.T) {
	f := newFixture(t, false)
	labels := map[string]string{"app.kubernetes.io/name": "metallb", "app.kubernetes.io/component": "speaker"}
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "metallb-speaker", Labels: labels},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "speaker", Image: "quay.io/metallb/speaker:v0.16.1"}}},
		}}}
	check.Must(t, f.c.Create(f.ctx, ds))
	t.Cleanup(func() { _ = f.c.Delete(f.ctx, ds) })
	out, code := f.kubectl("doctor")
	t.Logf("doctor:\n%s", out)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{
		"DaemonSet " + f.cfgNS + "/metallb-speaker runs MetalLB (image quay.io/metallb/speaker:v0.16.1)",
		"Secret " + f.cfgNS + "/memberlist is missing",
		"fix: kubectl -n " + f.cfgNS + " create secret generic memberlist",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q", want)
		}
	}
	// Fixed: the Secret exists and MetalLB is gone; only then is doctor
	// quiet about both.
	check.Must(t, f.c.Delete(f.ctx, ds))
	check.Must(t, f.c.Create(f.ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "memberlist"}}))
	out, _ = f.kubectl("doctor")
	if strings.Contains(out, "second-implementation") || strings.Contains(out, "[memberlist]") {
		t.Errorf("doctor still reports fixed problems:\n%s", out)
	}
}

// status lists the IPs that moved between nodes, from the speakers'
// nodeAssigned Events, which the command asks the API server for by
// reason (a field selector) in every namespace.
func TestStatusMovedIPs(t *testing.T) {
	f := newFixture(t, false)
	now := time.Now()
	ev := func(name, node string, at time.Time) *eventsv1.Event {
		return &eventsv1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: name},
			EventTime: metav1.NewMicroTime(at), ReportingController: "barelb-speaker", ReportingInstance: "barelb-speaker-" + node,
			Action: "Announce", Reason: "nodeAssigned", Type: corev1.EventTypeNormal,
			Regarding: corev1.ObjectReference{Kind: "Service", Namespace: f.ns, Name: "web", APIVersion: "v1"},
			Note:      `announcing 198.18.53.4 from node "` + node + `" on eth1 with protocol "layer2"`}
	}
	for _, e := range []*eventsv1.Event{
		ev("web.1", "node-x", now.Add(-20*time.Minute)), ev("web.2", "node-y", now.Add(-3*time.Minute)),
		// Another reason in the same namespace is not asked for.
		{ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "web.3"}, EventTime: metav1.NewMicroTime(now),
			ReportingController: "x", ReportingInstance: "x", Action: "A", Reason: "Other", Type: corev1.EventTypeNormal,
			Regarding: corev1.ObjectReference{Kind: "Service", Namespace: f.ns, Name: "web"}, Note: `announcing 198.18.53.4 from node "node-z" with protocol "layer2"`},
	} {
		check.Must(t, f.c.Create(f.ctx, e))
	}
	out, code := f.kubectl("status")
	t.Logf("status:\n%s", out)
	if code != 0 || !strings.Contains(out, "198.18.53.4   "+f.ns+"/web   node-x   node-y   3m") || strings.Contains(out, "node-z") {
		t.Errorf("status (exit %d) does not show 198.18.53.4 moving from node-x to node-y 3m ago", code)
	}
}

// Stored objects that do not decode (written past validation) neither
// break the commands nor hide: pools lists the good pool, doctor names
// each bad object and how to fix it.
func TestUndecodableObjectsReported(t *testing.T) {
	f := newFixture(t, false)
	check.Must(t, f.c.Create(f.ctx, &v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: f.cfgNS, Name: "good"},
		Spec: v1beta1.IPAddressPoolSpec{Addresses: []v1beta1.AddressRange{"198.18.60.0/24"}}}))
	bad := env.StoreUndecodableConfig(f.ctx, t, f.cfgNS)
	if out, code := f.kubectl("pools"); code != 0 || !strings.Contains(out, "good") {
		t.Errorf("pools: exit %d, output:\n%s", code, out)
	}
	out, code := f.kubectl("doctor")
	if code != 1 {
		t.Errorf("doctor: exit %d, want 1:\n%s", code, out)
	}
	for _, obj := range bad {
		u := unstructured.Unstructured{Object: obj}
		if want := fmt.Sprintf("%s %q: the stored object cannot be read", u.GetKind(), u.GetName()); !strings.Contains(out, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, out)
		}
	}
}
