package kube_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/kube"
	"github.com/barelb/barelb/internal/kube/crkube"
	"github.com/barelb/barelb/testsupport/testenv"
)

// A status object this speaker created a moment ago exists on the API
// server while its cache does not list it yet: writing its status again
// must succeed rather than fail, as it once did for seconds under load,
// with "resourceVersion must be specified for an update".
func TestCreateWithStatusWhenCacheLags(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, c := context.Background(), env.Client
	const ns = "barelb-status"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	fresh := func() *v1beta1.ServiceL2Status {
		return &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "l2-abc-node1",
			Labels: map[string]string{"metallb.io/node": "node1"}}}
	}
	// The earlier create the cache has not caught up with.
	if err := c.Create(ctx, fresh()); err != nil {
		t.Fatal(err)
	}
	obj := fresh()
	want := v1beta1.MetalLBServiceL2Status{Node: "node1", ServiceName: "web", ServiceNamespace: "apps",
		Interfaces: []v1beta1.InterfaceInfo{{Name: "eth0"}}}
	if err := kube.CreateWithStatus(ctx, crkube.Client(c), crkube.Reader(c), obj, func() { obj.Status = want }); err != nil {
		t.Fatalf("writing the status of an object that already exists: %v", err)
	}
	var got v1beta1.ServiceL2Status
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &got); err != nil {
		t.Fatal(err)
	}
	if got.Status.Node != want.Node || len(got.Status.Interfaces) != 1 {
		t.Fatalf("status is %+v, want %+v", got.Status, want)
	}

	// And the ordinary path: a new object gets created with its status.
	obj = &v1beta1.ServiceL2Status{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "l2-def-node1"}}
	if err := kube.CreateWithStatus(ctx, crkube.Client(c), crkube.Reader(c), obj, func() { obj.Status = want }); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), &got); err != nil || got.Status.Node != "node1" {
		t.Fatalf("new object: status %+v, err %v", got.Status, err)
	}
}
