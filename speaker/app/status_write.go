package app

import (
	"context"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// createWithStatus creates a per-node status object and then writes its
// status (the status subresource ignores status on create). The caller
// creates only what its cache did not list, but the cache can lag behind
// this speaker's own earlier create, under load for seconds: then the
// object already exists, and the update needs the live resourceVersion, so
// it is read from the API server, not from the cache.
func createWithStatus(ctx context.Context, c client.Client, api client.Reader, obj client.Object, setStatus func()) error {
	if err := c.Create(ctx, obj); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := api.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
	}
	setStatus()
	return c.Status().Update(ctx, obj)
}
