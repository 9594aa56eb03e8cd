package vrrpmetrics

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrptest"
	"github.com/prometheus/client_golang/prometheus"
)

type staticSource struct {
	in []*router.Instance
	d  []*router.Demux
}

func (s staticSource) MetricInstances() []*router.Instance { return s.in }
func (s staticSource) MetricDemuxes() []*router.Demux      { return s.d }

// gathered flattens a registry into "name{label=value,...}" -> value.
func gathered(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			k := mf.GetName() + "{"
			for i, l := range m.GetLabel() {
				if i > 0 {
					k += ","
				}
				k += l.GetName() + "=" + l.GetValue()
			}
			k += "}"
			switch {
			case m.Counter != nil:
				out[k] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[k] = m.Gauge.GetValue()
			case m.Histogram != nil:
				out[k] = float64(m.Histogram.GetSampleCount())
			}
		}
	}
	return out
}

// runMaster runs an instance alone on a fake link until it is Master and
// holds its address: its Master_Down_Timer fires (RFC 5798 §6.4.2).
func runMaster(t *testing.T) *router.Instance {
	t.Helper()
	src := netip.MustParseAddr("198.18.0.1")
	in, err := router.NewInstance(router.InstanceConfig{
		Name: "vi", Interface: "eth0",
		Machine:    vrrp.MachineConfig{VRID: 51, Priority: 100, AdvertInterval: 100 * time.Millisecond, Preempt: true, PrimaryAddr: src},
		VIPs:       []netip.Prefix{netip.MustParsePrefix("198.18.0.100/24")},
		Gratuitous: router.Gratuitous{Repeat: 2, SecondDelay: 5 * time.Second},
	}, router.InstanceDeps{Sender: vrrptest.NewFakeLink().Conn(src), Addrs: vrrptest.NewFakeAddrs(), Announcer: &vrrptest.FakeAnnouncer{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- in.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if st := in.Status(); st.State == "MASTER" && st.HoldingVIPs {
			return in
		}
		if time.Now().After(deadline) {
			t.Fatalf("not Master holding its address after 30s: %+v", in.Status())
		}
	}
}

// TestCollector: every metric family maps the instance's and the
// demultiplexer's counters. The instance runs in real time (the collector
// sees only exported state), so the counters that keep moving while it is
// Master (adverts sent, timer expiries) are checked as at least one.
func TestCollector(t *testing.T) {
	in := runMaster(t)
	d := router.NewDemux("eth0", nil)
	d.Register(in)
	d.Handle(vrrp.Packet{Src: netip.MustParseAddr("198.18.0.2"), Dst: netip.MustParseAddr("198.18.0.1"), TTL: 1, Payload: []byte{1}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(staticSource{[]*router.Instance{in}, []*router.Demux{d}}))
	got := gathered(t, reg)
	for k, want := range map[string]float64{
		"vrrpd_state{instance=vi,state=MASTER}":                                                1,
		"vrrpd_state{instance=vi,state=BACKUP}":                                                0,
		"vrrpd_transitions_total{from=INIT,instance=vi,to=BACKUP}":                             1,
		"vrrpd_transitions_total{from=BACKUP,instance=vi,to=MASTER}":                           1,
		"vrrpd_dropped_packets_total{instance=,interface=eth0,reason=ttl_not_255}":             1,
		"vrrpd_dropped_packets_total{instance=,interface=eth0,reason=bad_checksum}":            0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=own_packet}":            0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=checksum_form_refused}": 0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=v2_duplicate}":          0,
		"vrrpd_virtual_addresses_held{instance=vi}":                                            1,
		"vrrpd_effective_priority{instance=vi}":                                                100,
		"vrrpd_errors_total{instance=vi,kind=address}":                                         0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
	for _, k := range []string{"vrrpd_adverts_sent_total{instance=vi}", "vrrpd_timer_lateness_seconds{instance=vi}"} {
		if v, ok := got[k]; !ok || v < 1 {
			t.Errorf("%s = %v (present %v), want at least 1", k, v, ok)
		}
	}
}
