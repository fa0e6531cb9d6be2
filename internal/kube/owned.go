package kube

import (
	"context"
	"errors"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/barelb/barelb/internal/kclient"
)

// Owned describes the status objects of kind O (holding a status of type
// S) that one component owns, one per key: a speaker's ServiceL2Status or
// ServiceBGPStatus objects, one per Service it announces. Sync makes the
// objects match a wanted set with the fewest writes: nothing for an
// unchanged status, one update for a changed one, a create plus a status
// write for a new one, a delete for one no longer wanted.
type Owned[O kclient.Object, S any] struct {
	Client kclient.Client // the cached client writes and lists
	API    kclient.Reader // uncached reads, where the cache may lag
	// List returns the objects the component owns (from the cache).
	List func(context.Context) ([]O, error)
	// Key is the object's key (for example its Service's namespace/name).
	Key func(O) string
	// New returns a fresh object for key, named and labelled, without
	// status.
	New func(key string, st S) O
	// Status points into the object's status.
	Status func(O) *S
	Equal  func(a, b S) bool
}

// Sync makes the owned objects say exactly want. Writes go one at a time
// (the API server is shared with every speaker's watches); NotFound and
// Conflict are left to the next, level-based, sync. It returns the first
// other error, after trying every write.
func (o Owned[O, S]) Sync(ctx context.Context, want map[string]S) error {
	have, err := o.List(ctx)
	if err != nil {
		return err
	}
	var errs firstErr
	seen := map[string]bool{}
	for _, obj := range have {
		key := o.Key(obj)
		st, ok := want[key]
		if !ok || seen[key] {
			errs.keep(o.Client.Delete(ctx, obj))
			continue
		}
		seen[key] = true
		if cur := o.Status(obj); !o.Equal(*cur, st) {
			*cur = st
			errs.keep(o.Client.UpdateStatus(ctx, obj))
		}
	}
	for key, st := range want {
		if seen[key] {
			continue
		}
		obj := o.New(key, st)
		errs.keep(CreateWithStatus(ctx, o.Client, o.API, obj, func() { *o.Status(obj) = st }))
	}
	return errs.err
}

// CreateWithStatus creates a status object and then writes its status
// (the status subresource ignores status on create). The caller creates
// only what its cache did not list, but the cache can lag behind the
// component's own earlier create, under load for seconds: then the object
// already exists, and the update needs the live resourceVersion, so it is
// read from the API server, not from the cache.
func CreateWithStatus(ctx context.Context, c kclient.Client, api kclient.Reader, obj kclient.Object, setStatus func()) error {
	if err := c.Create(ctx, obj); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		if err := api.Get(ctx, types.NamespacedName{Namespace: obj.GetNamespace(), Name: obj.GetName()}, obj); err != nil {
			return err
		}
	}
	setStatus()
	return c.UpdateStatus(ctx, obj)
}

// firstErr keeps the first error a level-based sync may not ignore:
// NotFound (the object went away meanwhile) and Conflict (it changed) are
// left to the next sync, which sees it anew.
type firstErr struct{ err error }

func (e *firstErr) keep(err error) {
	if e.err == nil && err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		e.err = err
	}
}

// IgnorableWriteError reports whether err is one a level-based writer
// leaves to its next pass (NotFound, Conflict).
func IgnorableWriteError(err error) bool {
	return err == nil || apierrors.IsNotFound(err) || apierrors.IsConflict(err) || errors.Is(err, context.Canceled)
}
