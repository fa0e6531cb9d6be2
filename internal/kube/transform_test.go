package kube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestTrimForCache(t *testing.T) {
	n := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"a": "b"},
			Annotations:   map[string]string{lastApplied: "{...}", "keep": "me"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Status: corev1.NodeStatus{
			Images:     []corev1.ContainerImage{{Names: []string{"big"}}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.1"}},
			NodeInfo:   corev1.NodeSystemInfo{KernelVersion: "6"},
		},
	}
	out, err := TrimForCache(n)
	if err != nil {
		t.Fatal(err)
	}
	got := out.(*corev1.Node)
	if got.Status.Images != nil || got.ManagedFields != nil || got.Status.NodeInfo.KernelVersion != "" || got.Annotations[lastApplied] != "" {
		t.Errorf("not trimmed: %+v", got)
	}
	if got.Labels["a"] != "b" || got.Annotations["keep"] != "me" || len(got.Status.Conditions) != 1 || len(got.Status.Addresses) != 1 {
		t.Errorf("trimmed what barelb reads: %+v", got)
	}

	es := &discoveryv1.EndpointSlice{Endpoints: []discoveryv1.Endpoint{{
		Addresses: []string{"198.18.9.1"}, NodeName: ptr.To("n1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)},
		TargetRef: &corev1.ObjectReference{Name: "pod"}, Hints: &discoveryv1.EndpointHints{},
	}}}
	out, _ = TrimForCache(es)
	e := out.(*discoveryv1.EndpointSlice).Endpoints[0]
	if e.TargetRef != nil || e.Hints != nil || *e.NodeName != "n1" || !*e.Conditions.Ready || len(e.Addresses) != 1 {
		t.Errorf("endpoint trimmed wrongly: %+v", e)
	}
}
