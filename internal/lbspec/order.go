package lbspec

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// SortForRestore orders Services the way their addresses are replayed into
// an allocator: older first, so if two claim one address the older keeps
// it (the newer is given a fresh one when reconciled); ties by key, so
// every reader (the controller, kubectl barelb) replays the same order.
func SortForRestore(items []corev1.Service) {
	sort.SliceStable(items, func(i, j int) bool {
		a, b := &items[i].CreationTimestamp, &items[j].CreationTimestamp
		if !a.Equal(b) {
			return a.Before(b)
		}
		return Key(&items[i]) < Key(&items[j])
	})
}
