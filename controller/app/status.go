package app

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
	"github.com/barelb/barelb/internal/kube"
)

// poolStatusWriter writes IPAddressPool counts and metrics at most once per
// interval, and only when something changed: under churn, per-allocation
// writes would cost more than the allocations.
type poolStatusWriter struct {
	client.Client
	state *state
}

// NeedLeaderElection: only the leader's counts are true.
func (w *poolStatusWriter) NeedLeaderElection() bool { return true }

func (w *poolStatusWriter) Start(ctx context.Context) error {
	t := time.NewTicker(w.state.opts.StatusFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if !w.state.takePoolsDirty() {
				continue
			}
			if err := w.flush(ctx); err != nil {
				log.FromContext(ctx).Error(err, "writing IPAddressPool status")
				w.state.markPoolsDirty()
			}
		}
	}
}

func (w *poolStatusWriter) flush(ctx context.Context) error {
	// Unstructured, as everywhere (kube.ListConfig); a pool that does not
	// decode gets no status, its problem is in the ConfigurationState.
	var list unstructured.UnstructuredList
	list.SetGroupVersionKind(v1beta1.GroupVersion.WithKind(config.KindPool + "List"))
	if err := w.List(ctx, &list, client.InNamespace(w.state.opts.Namespace)); err != nil {
		return err
	}
	pools := kube.DecodeEach[v1beta1.IPAddressPool](list.Items, new(config.Problems))
	cfg, problems := w.state.config()
	w.state.m.outOfPool.Set(float64(len(w.state.alloc.OutOfPool())))
	var firstErr error
	for i := range pools {
		p := &pools[i]
		st, inUse := w.state.alloc.PoolStats(p.Name)
		// Copy the conditions: setting one in place would also change
		// p.Status, and the comparison below would see no difference.
		want := v1beta1.IPAddressPoolStatus{Conditions: slices.Clone(p.Status.Conditions)}
		if inUse {
			want.AssignedIPv4, want.AvailableIPv4 = clamp(st.IPv4.Assigned), clamp(st.IPv4.Available)
			want.AssignedIPv6, want.AvailableIPv6 = clamp(st.IPv6.Assigned), clamp(st.IPv6.Available)
			w.state.m.inUse.WithLabelValues(p.Name).Set(float64(st.IPv4.Assigned + st.IPv6.Assigned))
			w.state.m.total.WithLabelValues(p.Name).Set(float64(st.IPv4.Total) + float64(st.IPv6.Total))
		} else {
			w.state.m.inUse.DeleteLabelValues(p.Name)
			w.state.m.total.DeleteLabelValues(p.Name)
		}
		cond := metav1.Condition{Type: v1beta1.ConditionValid, Status: metav1.ConditionTrue, Reason: v1beta1.ReasonInUse, Message: "the pool is used for allocation"}
		if cp := cfg.Pools[p.Name]; cp != nil && len(cp.Notes) > 0 {
			cond.Message += "; " + strings.Join(cp.Notes, "; ")
		}
		if msgs := problems.For(config.KindPool, p.Name); len(msgs) > 0 {
			cond = metav1.Condition{Type: v1beta1.ConditionValid, Status: metav1.ConditionFalse, Reason: v1beta1.ReasonInvalidConfiguration, Message: config.Problems(problemsOf(p.Name, msgs)).Error()}
		}
		v1beta1.SetCondition(&want.Conditions, cond, p.Generation)
		if sameStatus(p.Status, want) {
			continue
		}
		// Update, not a merge patch: a patch would leave out counts that
		// stayed zero, and the schema requires all four.
		p.Status = want
		if err := w.Status().Update(ctx, p); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return firstErr
}

func problemsOf(name string, msgs []string) []config.Problem {
	out := make([]config.Problem, len(msgs))
	for i, m := range msgs {
		out[i] = config.Problem{Kind: config.KindPool, Name: name, Message: m}
	}
	return out
}

func sameStatus(a, b v1beta1.IPAddressPoolStatus) bool {
	if a.AssignedIPv4 != b.AssignedIPv4 || a.AssignedIPv6 != b.AssignedIPv6 || a.AvailableIPv4 != b.AvailableIPv4 || a.AvailableIPv6 != b.AvailableIPv6 || len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		x, y := a.Conditions[i], b.Conditions[i]
		if x.Type != y.Type || x.Status != y.Status || x.Reason != y.Reason || x.Message != y.Message || x.ObservedGeneration != y.ObservedGeneration {
			return false
		}
	}
	return true
}

// clamp reports counts beyond int64 (IPv6 /64 and larger) as MaxInt64.
func clamp(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}
