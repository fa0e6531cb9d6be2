package lbspec

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSortForRestore(t *testing.T) {
	t0 := metav1.NewTime(time.Unix(1000, 0))
	t1 := metav1.NewTime(time.Unix(2000, 0))
	mk := func(ns, name string, at metav1.Time) corev1.Service {
		return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: at}}
	}
	items := []corev1.Service{mk("b", "new", t1), mk("b", "x", t0), mk("a", "y", t0)}
	SortForRestore(items)
	var got []string
	for i := range items {
		got = append(got, Key(&items[i]))
	}
	want := []string{"a/y", "b/x", "b/new"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}
