package explain

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/barelb/barelb/api/v1beta1"
	"github.com/barelb/barelb/internal/allocator"
	"github.com/barelb/barelb/internal/lbspec"
)

// ServiceReport is `explain svc`: what the Service asks for, which pools
// could serve it, what it holds, who announces it, and what to change.
type ServiceReport struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Handled is false when barelb does not handle the Service (type or
	// class); NotHandled then says why.
	Handled    bool   `json:"handled"`
	NotHandled string `json:"notHandled,omitempty"`

	Request Request `json:"request"`
	// Pools: every configured pool and whether it could serve the request.
	Pools []PoolVerdict `json:"pools"`
	// Assigned are the addresses in status.loadBalancer, AssignedFrom the
	// pool the controller recorded.
	Assigned     []string `json:"assigned,omitempty"`
	AssignedFrom string   `json:"assignedFrom,omitempty"`
	// Condition is the controller's barelb.io/AddressAssigned verdict.
	Condition *Verdict        `json:"condition,omitempty"`
	Addresses []AddressReport `json:"addresses,omitempty"`
	Events    []EventLine     `json:"events,omitempty"`
	// Pending is true when the Service has no address; Fix then is the one
	// sentence saying what to change.
	Pending bool   `json:"pending"`
	Fix     string `json:"fix,omitempty"`
}

// Request is the Service's allocation request as barelb reads it.
type Request struct {
	Class        string   `json:"class,omitempty"`
	RequestedIPs []string `json:"requestedIPs,omitempty"`
	Pool         string   `json:"pool,omitempty"`
	SharingKey   string   `json:"sharingKey,omitempty"`
	Families     []string `json:"families,omitempty"`
	Policy       string   `json:"policy,omitempty"`
	// Invalid is the error when the request is malformed.
	Invalid string `json:"invalid,omitempty"`
}

// PoolVerdict says whether one pool could serve the request, and why not.
type PoolVerdict struct {
	Pool   string `json:"pool"`
	Usable bool   `json:"usable"`
	Reason string `json:"reason"`
}

// Verdict is a condition's status, reason and message.
type Verdict struct {
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// AddressReport is who announces one address and why the others do not.
type AddressReport struct {
	IP   string `json:"ip"`
	Pool string `json:"pool,omitempty"`
	// L2 are the nodes answering ARP/NDP for it, with their interfaces.
	L2 []NodeInterfaces `json:"l2,omitempty"`
	// BGP are the nodes advertising it, with their peers.
	BGP []NodePeers `json:"bgp,omitempty"`
	// NotAnnouncing are the other nodes and their reasons.
	NotAnnouncing []NodeReason `json:"notAnnouncing,omitempty"`
}

// NodeInterfaces is a node announcing on interfaces.
type NodeInterfaces struct {
	Node       string   `json:"node"`
	Interfaces []string `json:"interfaces,omitempty"`
}

// NodePeers is a node advertising to peers.
type NodePeers struct {
	Node  string   `json:"node"`
	Peers []string `json:"peers,omitempty"`
	// PeersDown would receive it but have no established session (from
	// the speaker's ConfigurationState).
	PeersDown []string `json:"peersDown,omitempty"`
}

// NodeReason is why a node does not announce an address.
type NodeReason struct {
	Node string `json:"node"`
	// Protocol is "bgp" for a BGP verdict, empty for layer 2.
	Protocol string `json:"protocol,omitempty"`
	Reason   string `json:"reason"`
	Message  string `json:"message,omitempty"`
}

// EventLine is one Event about the Service.
type EventLine struct {
	Age     string `json:"age"`
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// ErrNotFound: the Service is not in the Cluster.
var ErrNotFound = errors.New("service not found")

// ExplainService builds the report for ns/name.
func ExplainService(c *Cluster, ns, name string) (*ServiceReport, error) {
	svc := c.service(ns, name)
	if svc == nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrNotFound, ns, name)
	}
	r := &ServiceReport{Namespace: ns, Name: name, Handled: lbspec.Handles(svc, c.LBClass)}
	r.Request.Class = ptrOr(svc.Spec.LoadBalancerClass, "")
	for _, in := range svc.Status.LoadBalancer.Ingress {
		if in.IP != "" {
			r.Assigned = append(r.Assigned, in.IP)
		}
	}
	r.AssignedFrom = svc.Annotations[lbspec.Prefix+lbspec.KeyAllocatedFromPool]
	r.Pending = len(r.Assigned) == 0
	if cond := meta.FindStatusCondition(svc.Status.Conditions, lbspec.ConditionAddressAssigned); cond != nil {
		r.Condition = &Verdict{Status: string(cond.Status), Reason: cond.Reason, Message: cond.Message}
	}
	r.Events = eventsOf(c, svc)
	m := c.model()
	if !r.Handled {
		r.NotHandled = notHandled(svc, c.LBClass)
		if r.Pending {
			r.Fix = r.NotHandled
		}
		return r, nil
	}
	req, err := lbspec.Request(svc)
	r.Request.fill(svc, req)
	if err != nil {
		r.Request.Invalid = err.Error()
	} else {
		r.Pools = poolVerdicts(m, svc, req)
	}
	for _, ip := range lbspec.IngressIPs(svc) {
		r.Addresses = append(r.Addresses, announcement(c, m, svc, ip))
	}
	if r.Pending {
		r.Fix = fix(c, m, r)
	}
	return r, nil
}

func (q *Request) fill(svc *corev1.Service, req allocator.Request) {
	for _, ip := range req.IPs {
		q.RequestedIPs = append(q.RequestedIPs, ip.String())
	}
	q.Pool = req.Pool
	q.SharingKey, _, _ = lbspec.Annotation(svc, lbspec.KeyAllowSharedIP)
	for _, f := range req.Families {
		q.Families = append(q.Families, f.String())
	}
	if len(q.Families) == 0 {
		for _, f := range svc.Spec.IPFamilies {
			q.Families = append(q.Families, string(f))
		}
	}
	q.Policy = req.Policy.String()
}

func notHandled(svc *corev1.Service, class string) string {
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		return fmt.Sprintf("The Service is of type %s: set spec.type to LoadBalancer for barelb to give it an address.", svc.Spec.Type)
	}
	want := class
	if want == "" {
		want = "none"
	}
	return fmt.Sprintf("The Service's loadBalancerClass %q is not barelb's (%s): another implementation must serve it, or change the class.", ptrOr(svc.Spec.LoadBalancerClass, ""), want)
}

// poolVerdicts tries the request against each pool on its own, with every
// other Service's addresses held, in the order the controller tries pools.
func poolVerdicts(m *model, svc *corev1.Service, req allocator.Request) []PoolVerdict {
	key := lbspec.Key(svc)
	held, _ := m.alloc.Assignment(key)
	m.alloc.Release(key) // judge the request, not what it holds
	defer func() {
		if len(held.IPs) > 0 {
			_ = m.alloc.Restore(key, held.IPs, req.Sharing)
		}
	}()
	allowed := m.allowed(svc)
	var out []PoolVerdict
	for _, name := range m.poolNames() {
		p := m.cfg.Pools[name]
		v := PoolVerdict{Pool: name}
		switch {
		case req.Pool != "" && req.Pool != name:
			v.Reason = fmt.Sprintf("the Service asks for pool %q", req.Pool)
		case !allowed(name):
			v.Reason = "its serviceAllocation does not select this Service (namespace or labels)"
		case len(req.IPs) > 0 && !containsAll(m, name, req.IPs):
			v.Reason = "does not contain the requested " + addrList(req.IPs)
		case len(req.IPs) == 0 && req.Pool == "" && !p.AutoAssign:
			v.Reason = "autoAssign is off: name it in metallb.io/address-pool or request one of its addresses"
		default:
			try := req
			try.Pool, try.Allowed = name, allowed
			if len(req.IPs) > 0 {
				try.Pool = ""
			}
			res, err := m.alloc.Assign(try)
			if err != nil {
				v.Reason = err.Error()
				break
			}
			m.alloc.Release(key)
			v.Usable = true
			v.Reason = "can give " + addrList(res.IPs)
			if slices.Equal(res.IPs, held.IPs) || (len(held.IPs) > 0 && samePool(m, held.IPs, name)) {
				v.Reason = "serves it"
			}
		}
		out = append(out, v)
	}
	return out
}

func containsAll(m *model, pool string, ips []netip.Addr) bool {
	for _, ip := range ips {
		if m.poolOf(ip) != pool {
			return false
		}
	}
	return true
}

func samePool(m *model, ips []netip.Addr, pool string) bool { return containsAll(m, pool, ips) }

// announcement gathers who announces ip of svc and why the others do not.
func announcement(c *Cluster, m *model, svc *corev1.Service, ip netip.Addr) AddressReport {
	a := AddressReport{IP: ip.String(), Pool: m.poolOf(ip)}
	announcing := map[string]bool{}
	for _, st := range c.L2Statuses {
		if st.Status.ServiceNamespace == svc.Namespace && st.Status.ServiceName == svc.Name && st.Status.Node != "" {
			ni := NodeInterfaces{Node: st.Status.Node}
			for _, i := range st.Status.Interfaces {
				ni.Interfaces = append(ni.Interfaces, i.Name)
			}
			a.L2 = append(a.L2, ni)
			announcing[st.Status.Node] = true
		}
	}
	states := c.speakerStates()
	// BGP: the speaker's own per-IP verdict wins (it knows the sessions);
	// a ServiceBGPStatus stands in for speakers that list none.
	bgpSaid := map[string]bool{}
	for node, st := range states {
		for _, e := range st.Status.BGPAnnouncements {
			if e.IP != a.IP {
				continue
			}
			bgpSaid[node] = true
			if e.Advertised {
				a.BGP = append(a.BGP, NodePeers{Node: node, Peers: e.Peers, PeersDown: e.PeersDown})
				announcing[node] = true
			} else {
				a.NotAnnouncing = append(a.NotAnnouncing, NodeReason{Node: node, Protocol: "bgp", Reason: e.Reason, Message: e.Message + sessionsDown(st, e.PeersDown)})
			}
		}
	}
	for _, st := range c.BGPStatuses {
		if st.Status.ServiceNamespace == svc.Namespace && st.Status.ServiceName == svc.Name && st.Status.Node != "" && !bgpSaid[st.Status.Node] {
			a.BGP = append(a.BGP, NodePeers{Node: st.Status.Node, Peers: st.Status.Peers})
			announcing[st.Status.Node] = true
		}
	}
	sort.Slice(a.L2, func(i, j int) bool { return a.L2[i].Node < a.L2[j].Node })
	sort.Slice(a.BGP, func(i, j int) bool { return a.BGP[i].Node < a.BGP[j].Node })
	for _, n := range c.Nodes {
		if announcing[n.Name] {
			continue
		}
		st := states[n.Name]
		if st == nil {
			a.NotAnnouncing = append(a.NotAnnouncing, NodeReason{Node: n.Name, Reason: "NoSpeakerState", Message: "no ConfigurationState from a speaker on this node (speaker not running?)"})
			continue
		}
		nr := NodeReason{Node: n.Name, Reason: "NotConsidered", Message: "the speaker's status does not list this IP yet"}
		listed := false
		for _, e := range st.Status.Announcements {
			if e.IP != a.IP {
				continue
			}
			listed = true
			nr.Reason, nr.Message = e.Reason, e.Message
			if e.Announced {
				nr.Reason, nr.Message = "Announcing", "announces it (its ServiceL2Status is not written yet)"
			}
		}
		// A speaker lists an IP only BGP handles under BGP alone.
		if listed || !bgpSaid[n.Name] {
			a.NotAnnouncing = append(a.NotAnnouncing, nr)
		}
	}
	sort.SliceStable(a.NotAnnouncing, func(i, j int) bool { return a.NotAnnouncing[i].Node < a.NotAnnouncing[j].Node })
	return a
}

// fix is the one sentence a pending Service's owner needs.
func fix(c *Cluster, m *model, r *ServiceReport) string {
	if r.Request.Invalid != "" {
		return "Fix the Service's request: " + r.Request.Invalid + "."
	}
	reason, msg := "", ""
	if r.Condition != nil && r.Condition.Status == "False" {
		reason, msg = r.Condition.Reason, r.Condition.Message
	}
	switch reason {
	case "NoAddressPoolAllowed":
		if len(m.cfg.Pools) == 0 {
			return fmt.Sprintf("Create an IPAddressPool in namespace %s (and an L2Advertisement or BGPAdvertisement for it).", c.Namespace)
		}
		if r.Request.Pool != "" {
			return fmt.Sprintf("Make pool %q's serviceAllocation select this Service, or name another pool in metallb.io/address-pool.", r.Request.Pool)
		}
		return "Make a pool's serviceAllocation select this Service (namespace or labels), turn autoAssign on, or name a pool in metallb.io/address-pool."
	case "AddressPoolExhausted":
		return fmt.Sprintf("Add addresses to %s or delete LoadBalancer Services that hold them.", usablePoolNames(r, "a pool the Service may use"))
	case "IPFamilyNotAvailable":
		return fmt.Sprintf("Add a %s range to a pool the Service may use, or change its ipFamilies/ipFamilyPolicy.", strings.Join(r.Request.Families, "/"))
	case "UnknownAddressPool":
		return fmt.Sprintf("Fix metallb.io/address-pool: no pool is named %q (pools: %s).", r.Request.Pool, strings.Join(m.poolNames(), ", "))
	case "RequestedIPNotInPool":
		return fmt.Sprintf("Request an address inside an IPAddressPool, or add %s to a pool.", strings.Join(r.Request.RequestedIPs, ", "))
	case "IPAlreadyInUse":
		return fmt.Sprintf("Request another address, or give this Service and the one holding %s the same metallb.io/allow-shared-ip key.", strings.Join(r.Request.RequestedIPs, ", "))
	case "IPSharingConflict":
		return "Make the Services sharing the address use the same allow-shared-ip key, distinct ports and the same externalTrafficPolicy (and selector, for Local)."
	case "RequestedIPsSpanPools":
		return "Request addresses that lie in one pool."
	case "InvalidLoadBalancerRequest":
		return "Fix the Service's request: " + msg + "."
	case "":
		if r.Condition == nil && len(r.Events) == 0 {
			return "barelb's controller has not handled this Service yet: check that it runs (kubectl barelb doctor)."
		}
	}
	if msg != "" {
		return "Resolve: " + msg + "."
	}
	return "Check the Service's Events: barelb's controller gave no reason."
}

func usablePoolNames(r *ServiceReport, none string) string {
	var names []string
	for _, p := range r.Pools {
		if !strings.Contains(p.Reason, "asks for pool") && !strings.Contains(p.Reason, "does not select") && !strings.Contains(p.Reason, "autoAssign is off") {
			names = append(names, fmt.Sprintf("%q", p.Pool))
		}
	}
	if len(names) == 0 {
		return none
	}
	return "pool " + strings.Join(names, " or ")
}

func addrList(ips []netip.Addr) string {
	s := make([]string, len(ips))
	for i, ip := range ips {
		s[i] = ip.String()
	}
	return strings.Join(s, ", ")
}

func ptrOr(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}

// sessionsDown says why each of peers' sessions on a speaker is down
// (the speaker lists that once per session, not per IP).
func sessionsDown(st *v1beta1.ConfigurationState, peers []string) string {
	var why []string
	for _, p := range peers {
		msg := "no session yet"
		for _, s := range st.Status.BGPSessions {
			if s.Peer == p {
				msg = s.Address + ": " + s.Message
			}
		}
		why = append(why, p+" "+msg)
	}
	if len(why) == 0 {
		return ""
	}
	return " (" + strings.Join(why, "; ") + ")"
}
