package explain

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/barelb/barelb/api/v1beta1"
)

// A MetalLB speaker's ConfigurationState ("speaker-" + node) is found by
// doctor and never taken for barelb's speaker; so is a MetalLB Pod that
// no listed workload owns (listed twice, reported once).
func TestDoctorFindsMetalLBSpeaker(t *testing.T) {
	st := func(name, node string) v1beta1.ConfigurationState {
		return v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name,
			Labels: map[string]string{LabelComponentType: "speaker", LabelNodeName: node}}}
	}
	ours := st("n1", "n1")
	ours.Status.Result = v1beta1.ConfigurationStateValid
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "stray", Labels: map[string]string{"app": "metallb", "app.kubernetes.io/name": "metallb"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "quay.io/metallb/speaker:v0.15.3"}}}}
	c := &Cluster{Namespace: ns, Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}},
		States: []v1beta1.ConfigurationState{ours, st("speaker-n1", "n1")}, Pods: []corev1.Pod{pod, pod}}
	if got := c.speakerStates()["n1"]; got == nil || got.Name != "n1" {
		t.Errorf("barelb's state for n1: %+v", got)
	}
	var metallb, pods int
	for _, f := range otherImplementations(c) {
		if strings.Contains(f.Problem, "a MetalLB speaker runs on node n1 (it wrote ConfigurationState "+ns+"/speaker-n1)") {
			metallb++
		}
		if strings.Contains(f.Problem, "Pod kube-system/stray runs MetalLB") {
			pods++
		}
	}
	if metallb != 1 || pods != 1 {
		t.Errorf("findings %+v: want one for the state and one for the Pod", otherImplementations(c))
	}
}
