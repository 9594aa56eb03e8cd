package vrrp

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

type staticSource struct {
	in []*Instance
	d  []*Demux
}

func (s staticSource) MetricInstances() []*Instance { return s.in }
func (s staticSource) MetricDemuxes() []*Demux      { return s.d }

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

func TestCollector(t *testing.T) {
	r := newRecorder()
	in, _ := newTestInstance(t, testConfig("vi", 100, srcA), r)
	in.start(rt0)
	in.handleTimer(in.m.Deadline())
	d := NewDemux("eth0", nil)
	d.Register(in)
	d.Handle(Packet{Src: srcB, Dst: srcA, TTL: 1, Payload: []byte{1}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewCollector(staticSource{[]*Instance{in}, []*Demux{d}}))
	got := gathered(t, reg)
	for k, want := range map[string]float64{
		"vrrpd_adverts_sent_total{instance=vi}":                                                1,
		"vrrpd_state{instance=vi,state=MASTER}":                                                1,
		"vrrpd_state{instance=vi,state=BACKUP}":                                                0,
		"vrrpd_transitions_total{from=INIT,instance=vi,to=BACKUP}":                             1,
		"vrrpd_transitions_total{from=BACKUP,instance=vi,to=MASTER}":                           1,
		"vrrpd_dropped_packets_total{instance=,interface=eth0,reason=ttl_not_255}":             1,
		"vrrpd_dropped_packets_total{instance=,interface=eth0,reason=bad_checksum}":            0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=own_packet}":            0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=checksum_form_refused}": 0,
		"vrrpd_dropped_packets_total{instance=vi,interface=eth0,reason=v2_duplicate}":          0,
		"vrrpd_timer_lateness_seconds{instance=vi}":                                            1,
		"vrrpd_virtual_addresses_held{instance=vi}":                                            1,
		"vrrpd_effective_priority{instance=vi}":                                                100,
		"vrrpd_errors_total{instance=vi,kind=address}":                                         0,
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", k, v, ok, want)
		}
	}
}
