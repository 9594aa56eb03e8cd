// Package healthmetrics exports a health.Monitor's counters and target
// states as Prometheus metrics. It lives apart from package health so that
// the checkers build without the Prometheus client.
package healthmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hachat/hachat/health"
)

// Collector exports a monitor's counters and the state of each target as
// Prometheus metrics, read at scrape time. Register one per monitor, with
// the daemon's namespace (vrrpd's balancer: "vrrpd_lb").
type Collector struct {
	m      *health.Monitor
	labels func(id string) []string

	checks, failures, changes, late, abandoned *prometheus.Desc
	inFlight, targets, concurrency             *prometheus.Desc
	up, consecutiveFail, lastDuration          *prometheus.Desc
}

// NewCollector returns a collector for m with metric names
// <namespace>_health_*. Per-target metrics carry the labels labelNames,
// whose values labels derives from the target's ID (a target ID is free
// text, no label for a query to match on).
func NewCollector(m *health.Monitor, namespace string, labelNames []string, labels func(id string) []string) *Collector {
	name := func(n string) string { return prometheus.BuildFQName(namespace, "health", n) }
	return &Collector{
		m:               m,
		labels:          labels,
		checks:          prometheus.NewDesc(name("checks_total"), "Health checks that finished with a verdict.", nil, nil),
		failures:        prometheus.NewDesc(name("check_failures_total"), "Failed health checks by kind of failure.", []string{"kind"}, nil),
		changes:         prometheus.NewDesc(name("state_changes_total"), "Target state changes by new state.", []string{"state"}, nil),
		late:            prometheus.NewDesc(name("ticks_late_total"), "Check ticks not run on time, by reason: deferred (previous probe still running), overrun (dropped while one was deferred), missed (scheduler woke late).", []string{"reason"}, nil),
		abandoned:       prometheus.NewDesc(name("probes_abandoned_total"), "Probes cut short because their target was removed or the monitor stopped.", nil, nil),
		inFlight:        prometheus.NewDesc(name("probes_in_flight"), "Probes running now.", nil, nil),
		targets:         prometheus.NewDesc(name("targets"), "Targets being checked.", nil, nil),
		concurrency:     prometheus.NewDesc(name("concurrency_limit"), "Most probes allowed to run at once.", nil, nil),
		up:              prometheus.NewDesc(name("target_up"), "1 when the target is up, 0 when down or not yet checked.", labelNames, nil),
		consecutiveFail: prometheus.NewDesc(name("target_consecutive_failures"), "Current run of failed checks of the target.", labelNames, nil),
		lastDuration:    prometheus.NewDesc(name("target_last_check_duration_seconds"), "How long the target's last check took.", labelNames, nil),
	}
}

// Describe sends the descriptors of all metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.checks, c.failures, c.changes, c.late, c.abandoned,
		c.inFlight, c.targets, c.concurrency, c.up, c.consecutiveFail, c.lastDuration} {
		ch <- d
	}
}

// Collect reads the monitor's stats and snapshot.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	s := c.m.Stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(c.checks, s.Checks)
	for _, k := range health.FailureKinds {
		counter(c.failures, s.Failures[k], string(k))
	}
	counter(c.changes, s.Ups, health.Up.String())
	counter(c.changes, s.Downs, health.Down.String())
	counter(c.late, s.Deferred, "deferred")
	counter(c.late, s.Overruns, "overrun")
	counter(c.late, s.Missed, "missed")
	counter(c.abandoned, s.Abandoned)
	gauge(c.inFlight, float64(s.InFlight))
	gauge(c.targets, float64(s.Targets))
	gauge(c.concurrency, float64(s.Concurrency))
	for _, st := range c.m.Snapshot() {
		up := 0.0
		if st.State == health.Up {
			up = 1
		}
		l := c.labels(st.ID)
		gauge(c.up, up, l...)
		gauge(c.consecutiveFail, float64(st.ConsecutiveFail), l...)
		gauge(c.lastDuration, st.LastDuration.Seconds(), l...)
	}
}
