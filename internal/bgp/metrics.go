package bgp

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metric names follow MetalLB's speaker so dashboards and alerts written
// for it keep working. The peer label is the peer's address and port.
var (
	sessionUpDesc = prometheus.NewDesc("metallb_bgp_session_up",
		"BGP session state (1 is up, 0 is down)", []string{"peer"}, nil)
	announcedDesc = prometheus.NewDesc("metallb_bgp_announced_prefixes_total",
		"Number of prefixes currently being advertised on the BGP session", []string{"peer"}, nil)
	updatesDesc = prometheus.NewDesc("metallb_bgp_updates_total",
		"Number of BGP UPDATE messages sent", []string{"peer"}, nil)
)

// collector reads the sessions' state from GoBGP at scrape time, so the
// metrics can never disagree with PeerStates. updates_total restarts from
// zero when a session is re-created for a configuration change, which
// Prometheus treats as a counter reset.
type collector struct{ s *Server }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- sessionUpDesc
	ch <- announcedDesc
	ch <- updatesDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.s.viewMu.RLock()
	view := c.s.view
	c.s.viewMu.RUnlock()
	for _, name := range sortedKeys(view) {
		ss := view[name]
		label := ss.cfg.addrPort().String()
		st := ss.state(ctx)
		up := 0.0
		if st.State == StateEstablished {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(sessionUpDesc, prometheus.GaugeValue, up, label)
		ch <- prometheus.MustNewConstMetric(announcedDesc, prometheus.GaugeValue, float64(st.Advertised), label)
		var updates uint64
		if p := ss.peer(ctx, false); p != nil {
			updates = p.GetState().GetMessages().GetSent().GetUpdate()
		}
		ch <- prometheus.MustNewConstMetric(updatesDesc, prometheus.CounterValue, float64(updates), label)
	}
}
