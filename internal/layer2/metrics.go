package layer2

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics uses MetalLB's names where the meaning is the same, so existing
// dashboards and alerts keep working. Series of an IP are deleted when it
// stops being announced: a node announces a changing handful of a pool's
// addresses, and stale series would only grow.
type metrics struct {
	requests   *prometheus.CounterVec
	responses  *prometheus.CounterVec
	gratuitous *prometheus.CounterVec
	announced  prometheus.Gauge
	probes     *prometheus.CounterVec
	conflicts  *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metallb", Subsystem: "layer2", Name: "requests_received",
			Help: "ARP requests and Neighbor Solicitations received for announced IPs on interfaces that carry them.",
		}, []string{"ip"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metallb", Subsystem: "layer2", Name: "responses_sent",
			Help: "ARP replies and Neighbor Advertisements sent in answer to requests for announced IPs.",
		}, []string{"ip"}),
		gratuitous: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "metallb", Subsystem: "layer2", Name: "gratuitous_sent",
			Help: "Gratuitous ARP packets and unsolicited Neighbor Advertisements sent for announced IPs.",
		}, []string{"ip"}),
		announced: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: "barelb", Subsystem: "layer2", Name: "announced_ips",
			Help: "IPs this node currently announces in layer 2 mode.",
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "barelb", Subsystem: "layer2", Name: "address_probes_sent",
			Help: "ARP probes and duplicate address detection solicitations sent for announced IPs (conflict detection).",
		}, []string{"ip"}),
		conflicts: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "barelb", Subsystem: "layer2", Name: "address_conflicts",
			Help: "Interfaces on which another host claims an IP this node would announce; kind ForeignHost (not announced there) or SplitBrain (another speaker announces it too).",
		}, []string{"ip", "kind"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.responses, m.gratuitous, m.announced, m.probes, m.conflicts} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) forget(ip netip.Addr) {
	l := prometheus.Labels{"ip": ip.String()}
	m.requests.Delete(l)
	m.responses.Delete(l)
	m.gratuitous.Delete(l)
	m.probes.Delete(l)
}

// setConflicts makes the conflicts gauge show exactly cs.
func (m *metrics) setConflicts(cs []Conflict) {
	m.conflicts.Reset()
	for _, c := range cs {
		m.conflicts.WithLabelValues(c.IP.String(), string(c.Kind)).Inc()
	}
}
