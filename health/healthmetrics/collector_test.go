package healthmetrics_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hachat/hachat/health"
	"github.com/hachat/hachat/health/healthmetrics"
	"github.com/hachat/hachat/health/healthtest"
)

// gather registers c on a fresh registry and returns every series as
// "name{label=value,...}" -> value.
func gather(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry() // also checks Describe against Collect
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			if len(m.GetLabel()) > 0 {
				key += "{"
				for i, l := range m.GetLabel() {
					if i > 0 {
						key += ","
					}
					key += l.GetName() + "=" + l.GetValue()
				}
				key += "}"
			}
			switch {
			case m.GetCounter() != nil:
				out[key] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func TestCollector(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	clk := healthtest.NewFakeClock(t0)
	m := health.NewMonitor(health.MonitorConfig{Clock: clk, Jitter: -1, Concurrency: 8})
	fail := health.ProberFunc(func(context.Context) error {
		return fmt.Errorf("scripted: %w", health.ErrUnexpectedStatus)
	})
	if err := m.Add(health.Target{ID: "rs1", Prober: fail, Interval: time.Second, Fall: 2, Initial: health.Up}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for i := uint64(1); i <= 2; i++ {
		if i > 1 {
			clk.Advance(time.Second)
		}
		deadline := time.Now().Add(10 * time.Second)
		for st, _ := m.Status("rs1"); st.Checks != i || st.InFlight; st, _ = m.Status("rs1") {
			if time.Now().After(deadline) {
				t.Fatalf("check %d did not finish", i)
			}
			time.Sleep(time.Millisecond) // polling for the event, bounded by deadline
		}
	}

	split := func(id string) []string { return []string{"svc1", id} }
	got := gather(t, healthmetrics.NewCollector(m, "vrrpd_lb", []string{"service", "real_server"}, split))
	const ns = "vrrpd_lb_health_"
	want := map[string]float64{
		ns + "checks_total":                                                     2,
		ns + "state_changes_total{state=down}":                                  1,
		ns + "state_changes_total{state=up}":                                    0,
		ns + "ticks_late_total{reason=deferred}":                                0,
		ns + "ticks_late_total{reason=overrun}":                                 0,
		ns + "ticks_late_total{reason=missed}":                                  0,
		ns + "probes_abandoned_total":                                           0,
		ns + "probes_in_flight":                                                 0,
		ns + "targets":                                                          1,
		ns + "concurrency_limit":                                                8,
		ns + "target_up{real_server=rs1,service=svc1}":                          0,
		ns + "target_consecutive_failures{real_server=rs1,service=svc1}":        2,
		ns + "target_last_check_duration_seconds{real_server=rs1,service=svc1}": got[ns+"target_last_check_duration_seconds{real_server=rs1,service=svc1}"],
		ns + "check_failures_total{kind=status}":                                2,
	}
	// Every failure kind is exported, zeros included, so dashboards need
	// no absent() guards.
	for _, k := range health.FailureKinds {
		if k != health.KindStatus {
			want[ns+"check_failures_total{kind="+string(k)+"}"] = 0
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}
