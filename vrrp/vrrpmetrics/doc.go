// Package vrrpmetrics exports the VRRP runtime's counters and states as
// Prometheus metrics (vrrpd_*): a Collector reads the instances and
// demultiplexers of package vrrp/router at scrape time.
package vrrpmetrics
