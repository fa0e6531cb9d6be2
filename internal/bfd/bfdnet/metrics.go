package bfdnet

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/barelb/barelb/internal/bfd"
)

// Collector exports a Manager's sessions under the names MetalLB uses in
// FRR mode (label peer: the remote address, with %interface for
// link-local peers), plus barelb_bfd_discarded_packets_total. The echo
// packet counters MetalLB also has are absent: echo mode is refused.
type Collector struct {
	m                                 *Manager
	up, in, out, upEvents, downEvents *prometheus.Desc
	discards                          *prometheus.Desc
}

// NewCollector returns a prometheus.Collector reading m at scrape time.
func NewCollector(m *Manager) *Collector {
	peer := []string{"peer"}
	return &Collector{
		m:          m,
		up:         prometheus.NewDesc("metallb_bfd_session_up", "BFD session state (1 is up, 0 is down)", peer, nil),
		in:         prometheus.NewDesc("metallb_bfd_control_packet_input", "Number of received BFD control packets", peer, nil),
		out:        prometheus.NewDesc("metallb_bfd_control_packet_output", "Number of sent BFD control packets", peer, nil),
		upEvents:   prometheus.NewDesc("metallb_bfd_session_up_events", "Number of BFD session up events", peer, nil),
		downEvents: prometheus.NewDesc("metallb_bfd_session_down_events", "Number of BFD session down events", peer, nil),
		discards:   prometheus.NewDesc("barelb_bfd_discarded_packets_total", "BFD packets received but accepted by no session, by reason", []string{"reason"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.up, c.in, c.out, c.upEvents, c.downEvents, c.discards} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.m.Snapshot()
	// Sorted, so that when two sessions share a remote address (say a
	// single-hop and a multi-hop one) the same one keeps the plain label
	// and the other is told apart by its whole key: a repeated label set
	// would fail the whole scrape.
	slices.SortFunc(st.Sessions, func(a, b SessionStats) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	seen := make(map[string]bool, len(st.Sessions))
	for _, s := range st.Sessions {
		peer := s.Key.Remote.String()
		if s.Key.Interface != "" && s.Key.Remote.IsLinkLocalUnicast() {
			peer += "%" + s.Key.Interface
		}
		if seen[peer] {
			peer = s.Key.String()
		}
		seen[peer] = true
		up := 0.0
		if s.Status.State == bfd.Up {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up, peer)
		ch <- prometheus.MustNewConstMetric(c.in, prometheus.CounterValue, float64(s.ControlIn), peer)
		ch <- prometheus.MustNewConstMetric(c.out, prometheus.CounterValue, float64(s.ControlOut), peer)
		ch <- prometheus.MustNewConstMetric(c.upEvents, prometheus.CounterValue, float64(s.UpEvents), peer)
		ch <- prometheus.MustNewConstMetric(c.downEvents, prometheus.CounterValue, float64(s.DownEvents), peer)
	}
	for r, n := range st.Discards {
		ch <- prometheus.MustNewConstMetric(c.discards, prometheus.CounterValue, float64(n), r)
	}
}
