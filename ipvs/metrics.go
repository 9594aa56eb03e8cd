package ipvs

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hachat/hachat/health/healthmetrics"
)

// metrics are the balancer's own counters; per-service and per-real-server
// values are read from the data plane at scrape time by statusCollector.
type metrics struct {
	ops             *prometheus.CounterVec
	reconcileErrors prometheus.Counter
	healthChanges   *prometheus.CounterVec
	status          *statusCollector
}

func newMetrics(b *Balancer) *metrics {
	return &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vrrpd_lb_dataplane_ops_total", Help: "Changes applied to the data plane, by kind.",
		}, []string{"op"}),
		reconcileErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "vrrpd_lb_reconcile_errors_total", Help: "Reconcile rounds that failed (retried on the next round).",
		}),
		healthChanges: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vrrpd_lb_health_changes_total", Help: "Real server health state changes, by new state.",
		}, []string{"state"}),
		status: &statusCollector{b: b},
	}
}

// Collectors returns the balancer's Prometheus collectors: its own
// counters, per-service and per-real-server values read from the data
// plane at scrape time, and the health checker's (vrrpd_lb_health_*). All
// carry vrrpd's prefix: the balancer runs inside vrrpd.
func (b *Balancer) Collectors() []prometheus.Collector {
	return []prometheus.Collector{b.metrics.ops, b.metrics.reconcileErrors, b.metrics.healthChanges, b.metrics.status,
		healthmetrics.NewCollector(b.monitor, "vrrpd_lb", []string{"service", "real_server"}, splitHealthID)}
}

// splitHealthID is the inverse of healthID: the service key and the real
// server address, as labels. An ID of another shape is all service.
func splitHealthID(id string) []string {
	svc, rs, ok := strings.Cut(strings.TrimPrefix(id, "vs "), " rs ")
	if !ok {
		return []string{id, ""}
	}
	return []string{svc, rs}
}

var (
	svcLabels  = []string{"service", "name"}
	destLabels = []string{"service", "name", "real_server"}

	descSvcConns   = prometheus.NewDesc("vrrpd_lb_service_connections_total", "Connections scheduled by the virtual service.", svcLabels, nil)
	descSvcPktsIn  = prometheus.NewDesc("vrrpd_lb_service_in_packets_total", "Packets in (IPVS only).", svcLabels, nil)
	descSvcPktsOut = prometheus.NewDesc("vrrpd_lb_service_out_packets_total", "Packets out (IPVS NAT only).", svcLabels, nil)
	descSvcBytesIn = prometheus.NewDesc("vrrpd_lb_service_in_bytes_total", "Bytes in (IPVS only).", svcLabels, nil)
	descSvcBytesOu = prometheus.NewDesc("vrrpd_lb_service_out_bytes_total", "Bytes out (IPVS NAT only).", svcLabels, nil)
	descSvcCPS     = prometheus.NewDesc("vrrpd_lb_service_connection_rate", "New connections per second (data plane estimate).", svcLabels, nil)
	descSvcUp      = prometheus.NewDesc("vrrpd_lb_service_programmed", "1 when the service is in the data plane.", svcLabels, nil)
	descSvcQuorum  = prometheus.NewDesc("vrrpd_lb_service_quorum", "1 while the service holds its quorum.", svcLabels, nil)
	descSvcStandby = prometheus.NewDesc("vrrpd_lb_service_standby", "1 while the service does not answer (VRRP backup, nftables).", svcLabels, nil)

	descRSConns    = prometheus.NewDesc("vrrpd_lb_real_server_connections_total", "Connections scheduled to the real server.", destLabels, nil)
	descRSActive   = prometheus.NewDesc("vrrpd_lb_real_server_active_connections", "Established connections (IPVS ActiveConn).", destLabels, nil)
	descRSInactive = prometheus.NewDesc("vrrpd_lb_real_server_inactive_connections", "Other connections (IPVS InActConn).", destLabels, nil)
	descRSWeight   = prometheus.NewDesc("vrrpd_lb_real_server_weight", "Weight in the data plane (-1: absent).", destLabels, nil)
	descRSUp       = prometheus.NewDesc("vrrpd_lb_real_server_up", "1 when the health check passes (or there is none).", destLabels, nil)
	descRSBytesIn  = prometheus.NewDesc("vrrpd_lb_real_server_in_bytes_total", "Bytes in (IPVS only).", destLabels, nil)
	descRSBytesOut = prometheus.NewDesc("vrrpd_lb_real_server_out_bytes_total", "Bytes out (IPVS NAT only).", destLabels, nil)
)

// statusCollector exports Status() at scrape time.
type statusCollector struct{ b *Balancer }

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSvcConns, descSvcPktsIn, descSvcPktsOut, descSvcBytesIn, descSvcBytesOu,
		descSvcCPS, descSvcUp, descSvcQuorum, descSvcStandby, descRSConns, descRSActive, descRSInactive, descRSWeight,
		descRSUp, descRSBytesIn, descRSBytesOut} {
		ch <- d
	}
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	for _, s := range c.b.Status() {
		l := []string{s.Service, s.Name}
		ch <- prometheus.MustNewConstMetric(descSvcConns, prometheus.CounterValue, float64(s.Stats.Connections), l...)
		ch <- prometheus.MustNewConstMetric(descSvcPktsIn, prometheus.CounterValue, float64(s.Stats.PacketsIn), l...)
		ch <- prometheus.MustNewConstMetric(descSvcPktsOut, prometheus.CounterValue, float64(s.Stats.PacketsOut), l...)
		ch <- prometheus.MustNewConstMetric(descSvcBytesIn, prometheus.CounterValue, float64(s.Stats.BytesIn), l...)
		ch <- prometheus.MustNewConstMetric(descSvcBytesOu, prometheus.CounterValue, float64(s.Stats.BytesOut), l...)
		ch <- prometheus.MustNewConstMetric(descSvcCPS, prometheus.GaugeValue, float64(s.Stats.CPS), l...)
		ch <- prometheus.MustNewConstMetric(descSvcUp, prometheus.GaugeValue, b2f(s.Programmed), l...)
		ch <- prometheus.MustNewConstMetric(descSvcQuorum, prometheus.GaugeValue, b2f(s.Quorum != "lost"), l...)
		ch <- prometheus.MustNewConstMetric(descSvcStandby, prometheus.GaugeValue, b2f(s.Standby), l...)
		for _, r := range s.RealServers {
			l := []string{s.Service, s.Name, r.Address}
			ch <- prometheus.MustNewConstMetric(descRSConns, prometheus.CounterValue, float64(r.Stats.Connections), l...)
			ch <- prometheus.MustNewConstMetric(descRSActive, prometheus.GaugeValue, float64(r.ActiveConns), l...)
			ch <- prometheus.MustNewConstMetric(descRSInactive, prometheus.GaugeValue, float64(r.InactiveConns), l...)
			ch <- prometheus.MustNewConstMetric(descRSWeight, prometheus.GaugeValue, float64(r.Weight), l...)
			ch <- prometheus.MustNewConstMetric(descRSUp, prometheus.GaugeValue, b2f(r.Health == "up" || r.Health == "unchecked"), l...)
			ch <- prometheus.MustNewConstMetric(descRSBytesIn, prometheus.CounterValue, float64(r.Stats.BytesIn), l...)
			ch <- prometheus.MustNewConstMetric(descRSBytesOut, prometheus.CounterValue, float64(r.Stats.BytesOut), l...)
		}
	}
}
