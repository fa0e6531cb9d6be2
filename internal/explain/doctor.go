package explain

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/config"
)

// Finding is one problem doctor found and how to fix it.
type Finding struct {
	Check   string `json:"check"`
	Problem string `json:"problem"`
	Fix     string `json:"fix"`
}

// maxSkew is the clock difference that starts to break leases: the
// controller's lease lasts 15 s by default.
const maxSkew = 5 * time.Second

// barelbCRDs are the CRDs barelb serves and the version it reads.
var barelbCRDs = map[string]string{
	"ipaddresspools.metallb.io": "v1beta1", "l2advertisements.metallb.io": "v1beta1",
	"bgpadvertisements.metallb.io": "v1beta1", "bgppeers.metallb.io": "v1beta2",
	"communities.metallb.io": "v1beta1", "bfdprofiles.metallb.io": "v1beta1",
	"configurationstates.metallb.io": "v1beta1", "servicel2statuses.metallb.io": "v1beta1",
	"servicebgpstatuses.metallb.io": "v1beta1",
}

// Doctor runs every check; no findings means a healthy install.
func Doctor(c *Cluster) []Finding {
	var out []Finding
	out = append(out, otherImplementations(c)...)
	out = append(out, kubeProxy(c)...)
	out = append(out, missingSpeakers(c)...)
	out = append(out, memberlistSecret(c)...)
	out = append(out, crdVersions(c)...)
	out = append(out, clockSkew(c)...)
	return out
}

// otherImplementations finds a second load balancer answering for the
// same Services: MetalLB's own controller or speaker, kube-vip, Cilium's
// L2 announcements.
func otherImplementations(c *Cluster) []Finding {
	var out []Finding
	check := func(kind, ns, name string, labels map[string]string, spec corev1.PodSpec) {
		what := ""
		for _, ct := range slices.Concat(spec.InitContainers, spec.Containers) {
			img := ct.Image
			switch {
			case strings.Contains(img, "metallb/speaker") || strings.Contains(img, "metallb/controller"):
				what = "MetalLB (image " + img + ")"
			case strings.Contains(img, "kube-vip"):
				what = "kube-vip (image " + img + ")"
			}
		}
		if what == "" && (labels["app.kubernetes.io/name"] == "metallb" || labels["app"] == "metallb") {
			what = "MetalLB (labels)"
		}
		if what != "" {
			out = append(out, Finding{Check: "second-implementation",
				Problem: fmt.Sprintf("%s %s/%s runs %s, which also answers for LoadBalancer Services", kind, ns, name, what),
				Fix:     fmt.Sprintf("Remove it (kubectl -n %s delete %s %s), or give one of them its own loadBalancerClass.", ns, strings.ToLower(kind), name)})
		}
	}
	for _, d := range c.DaemonSets {
		check("DaemonSet", d.Namespace, d.Name, d.Labels, d.Spec.Template.Spec)
	}
	for _, d := range c.Deployments {
		check("Deployment", d.Namespace, d.Name, d.Labels, d.Spec.Template.Spec)
	}
	// Pods outside the workloads listed above (a static Pod, a Pod of
	// another controller): MetalLB's speaker refuses to start without its
	// own Pod object, so a running one always has one.
	seen := map[string]bool{} // the loader lists Pods by two label sets
	for _, pod := range c.Pods {
		if seen[pod.Namespace+"/"+pod.Name] {
			continue
		}
		seen[pod.Namespace+"/"+pod.Name] = true
		ownedBy := ""
		for _, o := range pod.OwnerReferences {
			if o.Kind == "DaemonSet" || o.Kind == "ReplicaSet" {
				ownedBy = o.Kind
			}
		}
		if ownedBy == "" {
			check("Pod", pod.Namespace, pod.Name, pod.Labels, pod.Spec)
		}
	}
	// A MetalLB speaker writes its own ConfigurationState ("speaker-" +
	// node, see foreignState) within seconds of starting, wherever it
	// runs: as a Pod, or as a process someone started on the node. It
	// answers ARP/NDP (and runs BGP) for the same Services, and its
	// election differs from barelb's, so two nodes answer for one IP.
	for i := range c.States {
		s := &c.States[i]
		if !foreignState(s) {
			continue
		}
		node, _ := speakerNode(s)
		out = append(out, Finding{Check: "second-implementation",
			Problem: fmt.Sprintf("a MetalLB speaker runs on node %s (it wrote ConfigurationState %s/%s): it also answers ARP/NDP and BGP for LoadBalancer Services", node, s.Namespace, s.Name),
			Fix: fmt.Sprintf("Stop MetalLB's speaker on node %s (its DaemonSet or Pod, or the process: look for a \"speaker\" process on the node), then kubectl -n %s delete configurationstate %s.",
				node, s.Namespace, s.Name)})
	}
	for _, crd := range c.CRDs {
		if crd.Name == "ciliuml2announcementpolicies.cilium.io" {
			out = append(out, Finding{Check: "second-implementation",
				Problem: "Cilium's L2 announcement policies are installed (CRD " + crd.Name + "): Cilium may answer ARP for the same addresses",
				Fix:     "Delete every CiliumL2AnnouncementPolicy that selects barelb's Services, or disable l2announcements in Cilium."})
		}
	}
	return out
}

// kubeProxy: in IPVS mode kube-proxy puts every LoadBalancer IP on
// kube-ipvs0, and without strictARP each node answers ARP for all of them.
func kubeProxy(c *Cluster) []Finding {
	if c.KubeProxy == nil {
		return nil
	}
	var cfg struct {
		Mode string `json:"mode"`
		IPVS struct {
			StrictARP bool `json:"strictARP"`
		} `json:"ipvs"`
	}
	raw := c.KubeProxy.Data["config.conf"]
	if err := yaml.Unmarshal([]byte(raw), &cfg); err != nil {
		return []Finding{{Check: "kube-proxy", Problem: "kube-system/kube-proxy config.conf does not parse: " + err.Error(), Fix: "Fix the ConfigMap's config.conf."}}
	}
	if cfg.Mode == "ipvs" && !cfg.IPVS.StrictARP {
		return []Finding{{Check: "kube-proxy", Problem: "kube-proxy runs in IPVS mode without strictARP: every node answers ARP for every LoadBalancer IP",
			Fix: "Set ipvs.strictARP: true in kube-system/kube-proxy config.conf and restart kube-proxy."}}
	}
	return nil
}

// missingSpeakers: a node an L2Advertisement selects but with no speaker
// reporting can never announce, and elections that pick it black-hole.
func missingSpeakers(c *Cluster) []Finding {
	m := c.model()
	states := c.speakerStates()
	var out []Finding
	for _, n := range c.Nodes {
		if states[n.Name] != nil {
			if who := deadTo(states, n.Name); who != nil {
				out = append(out, Finding{Check: "speakers",
					Problem: fmt.Sprintf("the speaker on node %s is dead to %s (memberlist): its ConfigurationState is stale and it announces nothing", n.Name, strings.Join(who, ", ")),
					Fix:     "Check the speaker's pod on that node (kubectl -n " + c.Namespace + " get pods -o wide) and that UDP and TCP on the memberlist port pass between nodes."})
			}
			continue
		}
		var by []string
		for _, adv := range m.cfg.L2Advertisements {
			if config.SelectsNode(adv.NodeSelectors, n.Labels) {
				by = append(by, adv.Name)
			}
		}
		if len(by) == 0 {
			continue
		}
		sort.Strings(by)
		out = append(out, Finding{Check: "speakers",
			Problem: fmt.Sprintf("node %s is selected by L2Advertisement %s but no barelb speaker reports from it", n.Name, strings.Join(by, ", ")),
			Fix:     "Check the speaker DaemonSet's pod on that node (taints, nodeSelector, crash loop: kubectl -n " + c.Namespace + " get pods -o wide)."})
	}
	return out
}

// deadTo lists the speakers whose memberlist sees node dead, when they are
// a majority of the others that run memberlist; nil otherwise (one
// speaker's split view is shown by status, not called a dead speaker).
func deadTo(states map[string]*v1beta1.ConfigurationState, node string) []string {
	var dead []string
	others := 0
	for name, st := range states {
		if name == node || st.Status.Members == nil {
			continue
		}
		others++
		if slices.Contains(st.Status.Members.Dead, node) {
			dead = append(dead, name)
		}
	}
	if len(dead) == 0 || 2*len(dead) <= others {
		return nil
	}
	sort.Strings(dead)
	return dead
}

// memberlistSecret: without it gossip is unencrypted and a speaker
// started before it appears never reads it.
func memberlistSecret(c *Cluster) []Finding {
	name := c.MemberlistSecret
	if name == "" {
		name = speakerSecretName(c.DaemonSets)
	}
	if slices.Contains(c.Secrets, name) {
		return nil
	}
	return []Finding{{Check: "memberlist", Problem: fmt.Sprintf("Secret %s/%s is missing: speakers gossip unencrypted", c.Namespace, name),
		Fix: fmt.Sprintf("kubectl -n %s create secret generic %s --from-literal=secretkey=\"$(openssl rand -base64 128)\", then restart the speakers.", c.Namespace, name)}}
}

// speakerSecretName reads --ml-secret-name from barelb's speaker
// DaemonSet; "memberlist" (the speaker's default) without one.
func speakerSecretName(dss []appsv1.DaemonSet) string {
	for _, d := range dss {
		if d.Labels["app.kubernetes.io/name"] != "barelb" {
			continue
		}
		for _, ct := range d.Spec.Template.Spec.Containers {
			for _, a := range slices.Concat(ct.Command, ct.Args) {
				if v, ok := strings.CutPrefix(a, "--ml-secret-name="); ok {
					return v
				}
			}
		}
	}
	return "memberlist"
}

func crdVersions(c *Cluster) []Finding {
	have := map[string]map[string]bool{}
	for _, crd := range c.CRDs {
		have[crd.Name] = map[string]bool{}
		for _, v := range crd.Spec.Versions {
			have[crd.Name][v.Name] = v.Served
		}
	}
	names := make([]string, 0, len(barelbCRDs))
	for n := range barelbCRDs {
		names = append(names, n)
	}
	sort.Strings(names)
	var out []Finding
	for _, n := range names {
		v := barelbCRDs[n]
		switch vs, ok := have[n]; {
		case !ok:
			out = append(out, Finding{Check: "crds", Problem: "CRD " + n + " is not installed", Fix: "Apply barelb's CRDs (helm upgrade, or kubectl apply -f config/crd/bases)."})
		case !vs[v]:
			out = append(out, Finding{Check: "crds", Problem: fmt.Sprintf("CRD %s does not serve %s, the version barelb reads", n, v), Fix: "Apply barelb's CRDs over the old ones (kubectl apply --server-side -f config/crd/bases)."})
		}
	}
	return out
}

// clockSkew: a Lease renewed in the future was renewed by a clock ahead of
// ours; leases then expire early or late.
func clockSkew(c *Cluster) []Finding {
	var out []Finding
	for _, l := range c.Leases {
		if l.Spec.RenewTime == nil || c.Now.IsZero() {
			continue
		}
		if ahead := l.Spec.RenewTime.Sub(c.Now); ahead > maxSkew {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			out = append(out, Finding{Check: "clock",
				Problem: fmt.Sprintf("Lease %s/%s was renewed %s in the future (holder %s): clocks differ", l.Namespace, l.Name, ahead.Round(time.Second), holder),
				Fix:     "Run NTP (chrony or systemd-timesyncd) on every node and on this machine."})
		}
	}
	return out
}
