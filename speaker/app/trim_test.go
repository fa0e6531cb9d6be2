package app

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// trimForSpeaker keeps what the plans read (a Service's class, policy,
// labels, annotations and ingress; a slice's Service and its endpoints'
// nodes and readiness; a Node's labels, conditions and addresses) and
// drops the rest it names.
func TestTrimForSpeaker(t *testing.T) {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps", Labels: map[string]string{"tier": "web"},
			Annotations: map[string]string{"metallb.io/address-pool": "p"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "x"}}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Port: 80}},
			Selector: map[string]string{"app": "web"}, ClusterIP: "198.19.0.10", ClusterIPs: []string{"198.19.0.10"},
			ExternalTrafficPolicy: corev1.ServiceExternalTrafficPolicyLocal, LoadBalancerClass: ptr.To("c")},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "198.18.50.1"}}}},
	}
	o, err := trimForSpeaker(svc)
	check := func(ok bool, what string) {
		t.Helper()
		if !ok {
			t.Error(what)
		}
	}
	check(err == nil, "error")
	s := o.(*corev1.Service)
	check(s.Spec.Ports == nil && s.Spec.Selector == nil && s.Spec.ClusterIP == "" && s.Spec.ClusterIPs == nil && s.ManagedFields == nil, "Service: ports, selector, cluster IPs or managed fields kept")
	check(s.Labels["tier"] == "web" && s.Annotations["metallb.io/address-pool"] == "p" && s.Spec.Type == corev1.ServiceTypeLoadBalancer &&
		s.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal && *s.Spec.LoadBalancerClass == "c" &&
		s.Status.LoadBalancer.Ingress[0].IP == "198.18.50.1", "Service: something the plans read was dropped")

	es := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "apps",
			Labels:          map[string]string{discoveryv1.LabelServiceName: "web", discoveryv1.LabelManagedBy: "endpointslice-controller.k8s.io"},
			Annotations:     map[string]string{"endpoints.kubernetes.io/last-change-trigger-time": "now"},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Service", Name: "web"}}},
		Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"198.18.50.20"}, NodeName: ptr.To("n1"), Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(false)}}},
		Ports:     []discoveryv1.EndpointPort{{Port: ptr.To[int32](80)}},
	}
	o, _ = trimForSpeaker(es)
	e := o.(*discoveryv1.EndpointSlice)
	check(len(e.Labels) == 1 && sliceService(e) == "apps/web", "slice: labels not down to the Service's name")
	check(e.Annotations == nil && e.OwnerReferences == nil && e.Ports == nil && e.Endpoints[0].Addresses == nil, "slice: annotations, owners, ports or addresses kept")
	check(*e.Endpoints[0].NodeName == "n1" && !*e.Endpoints[0].Conditions.Ready, "slice: an endpoint's node or readiness dropped")

	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a"}, Annotations: map[string]string{"flannel.alpha.coreos.com/public-ip": "198.18.0.1"}},
		Status: corev1.NodeStatus{Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "198.18.0.1"}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}}
	o, _ = trimForSpeaker(n)
	m := o.(*corev1.Node)
	check(m.Annotations == nil && m.Labels["zone"] == "a" && len(m.Status.Addresses) == 1 && len(m.Status.Conditions) == 1, "Node: annotations kept or labels, addresses, conditions dropped")
}
