package vrrpmetrics

import (
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/prometheus/client_golang/prometheus"
)

// MetricsSource gives the collector the live instances and demultiplexers.
type MetricsSource interface {
	MetricInstances() []*router.Instance
	MetricDemuxes() []*router.Demux
}

// Collector exports the runtime's counters to Prometheus, named vrrpd_*
// like every metric of the daemon. It reads the
// lock-free counters at scrape time, so the packet path never touches a
// Prometheus metric.
type Collector struct {
	src MetricsSource

	state, prio, held, sent, recv, drops, trans, errs, late, deferred, dual *prometheus.Desc
}

// NewCollector returns a collector over src; register it on a private
// registry.
func NewCollector(src MetricsSource) *Collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("vrrpd_"+name, help, labels, nil)
	}
	return &Collector{
		src:      src,
		state:    d("state", "1 for the instance's current state (INIT, BACKUP, MASTER, FAULT).", "instance", "state"),
		prio:     d("effective_priority", "Priority sent in adverts, after trackers.", "instance"),
		held:     d("virtual_addresses_held", "1 while the instance holds its virtual addresses.", "instance"),
		sent:     d("adverts_sent_total", "Adverts sent.", "instance"),
		recv:     d("adverts_received_total", "Adverts accepted and given to the state machine.", "instance"),
		drops:    d("dropped_packets_total", "Received VRRP packets dropped, by reason; instance is empty for interface-level drops.", "interface", "instance", "reason"),
		trans:    d("transitions_total", "State transitions.", "instance", "from", "to"),
		errs:     d("errors_total", "Kernel operation failures by kind (send, address, announce).", "instance", "kind"),
		late:     d("timer_lateness_seconds", "How late the loop delivered timer expiries after their deadline.", "instance"),
		dual:     d("dual_master_adverts_total", "Adverts from another Master received while Master (split brain, or a Backup that did not hear us).", "instance"),
		deferred: d("takeovers_deferred_total", "Master_Down_Timer expiries that waited for queued adverts or a stalled Master because the loop ran late.", "instance"),
	}
}

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.state, c.prio, c.held, c.sent, c.recv, c.drops, c.trans, c.errs, c.late, c.deferred, c.dual} {
		ch <- d
	}
}

var allStates = []vrrp.State{vrrp.Initialize, vrrp.Backup, vrrp.Master, vrrp.Fault}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	g := func(d *prometheus.Desc, v float64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
	}
	ctr := func(d *prometheus.Desc, v uint64, l ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
	}
	for _, d := range c.src.MetricDemuxes() {
		for _, r := range router.AllDropReasons {
			ctr(c.drops, d.Drops().Get(r), d.Interface(), "", string(r))
		}
	}
	for _, in := range c.src.MetricInstances() {
		st, stats, ifname := in.Status(), in.Stats(), in.Config().Interface
		n := st.Name
		for _, s := range allStates {
			v := 0.0
			if s.String() == st.State {
				v = 1
			}
			g(c.state, v, n, s.String())
		}
		g(c.prio, float64(st.Priority), n)
		held := 0.0
		if st.HoldingVIPs {
			held = 1
		}
		g(c.held, held, n)
		ctr(c.sent, st.AdvertsSent, n)
		ctr(c.recv, st.AdvertsReceived, n)
		ctr(c.deferred, st.TakeoversDeferred, n)
		ctr(c.dual, st.DualMaster, n)
		for _, r := range router.InstanceDropReasons {
			ctr(c.drops, stats.Drops.Get(r), ifname, n, string(r))
		}
		for k, v := range stats.Transitions() {
			ctr(c.trans, v, n, k[0].String(), k[1].String())
		}
		ctr(c.errs, stats.SendErrors.Load(), n, "send")
		ctr(c.errs, stats.AddrErrors.Load(), n, "address")
		ctr(c.errs, stats.AnnounceErrors.Load(), n, "announce")
		cum, count, sum, _ := stats.Lateness.Snapshot()
		buckets := make(map[float64]uint64, len(cum))
		for i, b := range router.LatenessBuckets {
			buckets[b.Seconds()] = cum[i]
		}
		ch <- prometheus.MustNewConstHistogram(c.late, count, sum.Seconds(), buckets, n)
	}
}
