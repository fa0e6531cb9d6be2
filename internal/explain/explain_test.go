package explain

import (
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/lbspec"
)

// Table tests of the decisions alone; cmd/kubectl-barelb proves the same
// against a real API server and the real controller.

const ns = "metallb-system"

func pool(name string, mut func(*v1beta1.IPAddressPool), addrs ...string) v1beta1.IPAddressPool {
	p := v1beta1.IPAddressPool{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, a := range addrs {
		p.Spec.Addresses = append(p.Spec.Addresses, v1beta1.AddressRange(a))
	}
	if mut != nil {
		mut(&p)
	}
	return p
}

func svc(name string, ips []string, mut ...func(*corev1.Service)) corev1.Service {
	s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, CreationTimestamp: metav1.Now()},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol}}}
	for _, ip := range ips {
		s.Status.LoadBalancer.Ingress = append(s.Status.LoadBalancer.Ingress, corev1.LoadBalancerIngress{IP: ip})
	}
	for _, m := range mut {
		m(&s)
	}
	return s
}

func refusedBy(reason, msg string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		s.Status.Conditions = []metav1.Condition{{Type: lbspec.ConditionAddressAssigned, Status: metav1.ConditionFalse, Reason: reason, Message: msg}}
	}
}

func ann(k, v string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		if s.Annotations == nil {
			s.Annotations = map[string]string{}
		}
		s.Annotations[lbspec.Prefix+k] = v
	}
}

func TestPendingVerdicts(t *testing.T) {
	small := pool("small", nil, "198.18.70.1/32")
	v6 := pool("v6", nil, "2001:db8:70::/120")
	manual := pool("manual", func(p *v1beta1.IPAddressPool) { p.Spec.AutoAssign = ptr.To(false) }, "198.18.71.0/28")
	other := pool("other-ns", func(p *v1beta1.IPAddressPool) {
		p.Spec.AllocateTo = &v1beta1.ServiceAllocation{Namespaces: []string{"elsewhere"}}
	}, "198.18.72.0/28")
	holder := svc("holder", []string{"198.18.70.1"})
	for _, tc := range []struct {
		name  string
		pools []v1beta1.IPAddressPool
		svc   corev1.Service
		fix   string
		// verdicts: pool -> fragment of its verdict
		verdicts map[string]string
	}{
		{"no pools", nil, svc("s", nil, refusedBy("NoAddressPoolAllowed", "no address pools are configured")),
			"Create an IPAddressPool in namespace metallb-system (and an L2Advertisement or BGPAdvertisement for it).", nil},
		{"not selected", []v1beta1.IPAddressPool{manual, other}, svc("s", nil, refusedBy("NoAddressPoolAllowed", "...")),
			"Make a pool's serviceAllocation select this Service (namespace or labels), turn autoAssign on, or name a pool in metallb.io/address-pool.",
			map[string]string{"manual": "autoAssign is off", "other-ns": "does not select this Service"}},
		{"exhausted", []v1beta1.IPAddressPool{small, other}, svc("s", nil, refusedBy("AddressPoolExhausted", "...")),
			`Add addresses to pool "small" or delete LoadBalancer Services that hold them.`,
			map[string]string{"small": `pool "small" has no free IPv4 address`}},
		{"family", []v1beta1.IPAddressPool{v6}, svc("s", nil, refusedBy("IPFamilyNotAvailable", "...")),
			"Add a IPv4 range to a pool the Service may use, or change its ipFamilies/ipFamilyPolicy.",
			map[string]string{"v6": "has no IPv4 range"}},
		{"unknown pool", []v1beta1.IPAddressPool{small, manual}, svc("s", nil, ann(lbspec.KeyAddressPool, "smal"), refusedBy("UnknownAddressPool", "...")),
			`Fix metallb.io/address-pool: no pool is named "smal" (pools: manual, small).`,
			map[string]string{"small": `asks for pool "smal"`}},
		{"named manual pool is usable", []v1beta1.IPAddressPool{manual}, svc("s", nil, ann(lbspec.KeyAddressPool, "manual"), refusedBy("NoAddressPoolAllowed", "...")),
			`Make pool "manual"'s serviceAllocation select this Service, or name another pool in metallb.io/address-pool.`,
			map[string]string{"manual": "can give 198.18.71."}},
		{"requested outside", []v1beta1.IPAddressPool{small}, svc("s", nil, ann(lbspec.KeyLoadBalancerIPs, "198.18.99.1"), refusedBy("RequestedIPNotInPool", "...")),
			"Request an address inside an IPAddressPool, or add 198.18.99.1 to a pool.",
			map[string]string{"small": "does not contain the requested 198.18.99.1"}},
		{"requested in use", []v1beta1.IPAddressPool{small}, svc("s", nil, ann(lbspec.KeyLoadBalancerIPs, "198.18.70.1"), refusedBy("IPAlreadyInUse", "...")),
			"Request another address, or give this Service and the one holding 198.18.70.1 the same metallb.io/allow-shared-ip key.",
			map[string]string{"small": "198.18.70.1"}},
		{"malformed", []v1beta1.IPAddressPool{small}, svc("s", nil, ann(lbspec.KeyLoadBalancerIPs, "nonsense")),
			"Fix the Service's request: ", nil},
		{"controller silent", []v1beta1.IPAddressPool{small}, svc("s", nil),
			"barelb's controller has not handled this Service yet: check that it runs (kubectl barelb doctor).", nil},
		{"other class", nil, svc("s", nil, func(s *corev1.Service) { s.Spec.LoadBalancerClass = ptr.To("example.com/other") }),
			`The Service's loadBalancerClass "example.com/other" is not barelb's (none)`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &Cluster{Namespace: ns, Pools: tc.pools, Services: []corev1.Service{holder, tc.svc}}
			r, err := ExplainService(c, "apps", "s")
			if err != nil {
				t.Fatal(err)
			}
			if !r.Pending || !strings.HasPrefix(r.Fix, tc.fix) {
				t.Errorf("fix = %q, want %q", r.Fix, tc.fix)
			}
			got := map[string]PoolVerdict{}
			for _, v := range r.Pools {
				got[v.Pool] = v
			}
			for p, frag := range tc.verdicts {
				if !strings.Contains(got[p].Reason, frag) {
					t.Errorf("pool %s: %q, want %q", p, got[p].Reason, frag)
				}
			}
			// Judging the request leaves the other Services' addresses in
			// place: the holder still holds its address afterwards.
			if tc.name == "exhausted" && got["small"].Usable {
				t.Errorf("small usable while holder holds its only address")
			}
		})
	}
}

func TestAnnouncedNoPendingVerdict(t *testing.T) {
	s := svc("s", []string{"198.18.70.1"}, ann(lbspec.KeyAllocatedFromPool, "small"))
	c := &Cluster{Namespace: ns, Pools: []v1beta1.IPAddressPool{pool("small", nil, "198.18.70.1/32")}, Services: []corev1.Service{s},
		Nodes: []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}}}
	r, err := ExplainService(c, "apps", "s")
	if err != nil {
		t.Fatal(err)
	}
	if r.Pending || r.Fix != "" || r.AssignedFrom != "small" || len(r.Pools) != 1 || r.Pools[0].Reason != "serves it" {
		t.Fatalf("report %+v", r)
	}
	// No status object names an announcer: the address is unannounced.
	if a := r.Addresses[0]; len(a.L2) != 0 || len(a.NotAnnouncing) != 1 || a.NotAnnouncing[0].Reason != "NoSpeakerState" {
		t.Errorf("address %+v", a)
	}
	if st := Status(c); len(st.Unannounced) != 1 || st.Unannounced[0].IP != "198.18.70.1" {
		t.Errorf("status unannounced %+v", st.Unannounced)
	}
}

func TestDoctorChecks(t *testing.T) {
	now := time.Now()
	allCRDs := func(mut func(map[string]string)) []apiextensionsv1.CustomResourceDefinition {
		m := map[string]string{}
		for k, v := range barelbCRDs {
			m[k] = v
		}
		if mut != nil {
			mut(m)
		}
		var out []apiextensionsv1.CustomResourceDefinition
		for n, v := range m {
			out = append(out, apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: n},
				Spec: apiextensionsv1.CustomResourceDefinitionSpec{Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: v, Served: true}}}})
		}
		return out
	}
	healthy := func() *Cluster {
		return &Cluster{Namespace: ns, Now: now, Secrets: []string{"memberlist"}, CRDs: allCRDs(nil)}
	}
	for _, tc := range []struct {
		name string
		mut  func(*Cluster)
		want string // fragment of the one finding; "" for none
	}{
		{"healthy", func(*Cluster) {}, ""},
		{"ipvs without strictARP", func(c *Cluster) {
			c.KubeProxy = &corev1.ConfigMap{Data: map[string]string{"config.conf": "mode: ipvs\nipvs:\n  strictARP: false\n"}}
		}, "IPVS mode without strictARP"},
		{"ipvs with strictARP", func(c *Cluster) {
			c.KubeProxy = &corev1.ConfigMap{Data: map[string]string{"config.conf": "mode: ipvs\nipvs:\n  strictARP: true\n"}}
		}, ""},
		{"kube-vip", func(c *Cluster) {
			c.DaemonSets = []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-vip-ds"},
				Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Image: "ghcr.io/kube-vip/kube-vip:v0.8.0"}}}}}}}
		}, "kube-vip"},
		{"metallb controller by labels", func(c *Cluster) {
			c.Deployments = []appsv1.Deployment{{ObjectMeta: metav1.ObjectMeta{Namespace: "metallb-system", Name: "controller", Labels: map[string]string{"app": "metallb"}}}}
		}, "Deployment metallb-system/controller runs MetalLB (labels)"},
		{"cilium", func(c *Cluster) {
			c.CRDs = append(c.CRDs, apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "ciliuml2announcementpolicies.cilium.io"}})
		}, "Cilium's L2 announcement policies"},
		{"secret named by the DaemonSet", func(c *Cluster) {
			c.DaemonSets = []appsv1.DaemonSet{{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "barelb-speaker", Labels: map[string]string{"app.kubernetes.io/name": "barelb"}},
				Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Args: []string{"--ml-secret-name=barelb-memberlist"}}}}}}}}
		}, "Secret metallb-system/barelb-memberlist is missing"},
		{"crd missing", func(c *Cluster) { c.CRDs = allCRDs(func(m map[string]string) { delete(m, "bgppeers.metallb.io") }) }, "CRD bgppeers.metallb.io is not installed"},
		{"crd old version", func(c *Cluster) {
			c.CRDs = allCRDs(func(m map[string]string) { m["bgppeers.metallb.io"] = "v1beta1" })
		}, "does not serve v1beta2"},
		{"speaker missing on a selected node", func(c *Cluster) {
			c.Pools = []v1beta1.IPAddressPool{pool("p", nil, "198.18.70.0/28")}
			c.L2Advs = []v1beta1.L2Advertisement{{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "all"}}}
			c.Nodes = []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "n2"}}}
			c.States = []v1beta1.ConfigurationState{{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{LabelComponentType: "speaker", LabelNodeName: "n1"}}}}
		}, "node n2 is selected by L2Advertisement all"},
		{"speaker dead to the others", func(c *Cluster) {
			c.Nodes = []corev1.Node{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}, {ObjectMeta: metav1.ObjectMeta{Name: "n2"}}, {ObjectMeta: metav1.ObjectMeta{Name: "n3"}}}
			for _, n := range []string{"n1", "n2", "n3"} {
				st := v1beta1.ConfigurationState{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{LabelComponentType: "speaker", LabelNodeName: n}}}
				st.Status.Members = &v1beta1.MembersState{Alive: []string{"n1", "n2"}, Dead: []string{"n3"}}
				if n == "n3" { // its own stale view
					st.Status.Members = &v1beta1.MembersState{Alive: []string{"n1", "n2", "n3"}}
				}
				c.States = append(c.States, st)
			}
		}, "the speaker on node n3 is dead to n1, n2"},
		{"clock ahead", func(c *Cluster) {
			c.Leases = []coordinationv1.Lease{{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-node-lease", Name: "n1"},
				Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("n1"), RenewTime: &metav1.MicroTime{Time: now.Add(time.Minute)}}}}
		}, "renewed 1m0s in the future"},
		{"lease just renewed", func(c *Cluster) {
			c.Leases = []coordinationv1.Lease{{Spec: coordinationv1.LeaseSpec{RenewTime: &metav1.MicroTime{Time: now.Add(time.Second)}}}}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := healthy()
			tc.mut(c)
			fs := Doctor(c)
			if tc.want == "" {
				if len(fs) != 0 {
					t.Fatalf("findings %+v", fs)
				}
				return
			}
			if len(fs) != 1 || !strings.Contains(fs[0].Problem, tc.want) || fs[0].Fix == "" {
				t.Fatalf("findings %+v, want one with %q and a fix", fs, tc.want)
			}
		})
	}
}

func TestPoolsReport(t *testing.T) {
	a := pool("a", nil, "198.18.73.0/30")
	b := pool("b", nil, "198.18.73.2/31") // overlaps a; the older pool keeps the range
	a.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	b.CreationTimestamp = metav1.Now()
	c := &Cluster{Namespace: ns, Pools: []v1beta1.IPAddressPool{a, b}, Services: []corev1.Service{svc("web", []string{"198.18.73.1"})}}
	rs := Pools(c)
	if len(rs) != 2 || rs[0].Name != "a" || rs[0].IPv4Used != 1 || rs[0].IPv4Free != 3 || len(rs[0].Services) != 1 || rs[0].Services[0] != "apps/web" {
		t.Fatalf("pool a: %+v", rs[0])
	}
	if len(rs[1].Problems) == 0 || !strings.Contains(rs[1].Problems[0], "overlaps") {
		t.Fatalf("pool b: %+v", rs[1])
	}
}
