package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/test/probe"
	"github.com/hachat/hachat/test/vrrp/vrrplab"
)

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults", nil, ""},
		{"bad impl", []string{"-impl", "frr"}, "unknown implementation"},
		{"interval not centiseconds", []string{"-intervals", "15ms"}, "multiple of 10ms"},
		{"bad scenario", []string{"-scenarios", "meteor"}, "unknown scenario"},
		{"zero reps", []string{"-reps", "0"}, "at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFlags(tt.args, io.Discard)
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("parseFlags(%v) error = %v, want %q", tt.args, err, tt.wantErr)
			}
		})
	}
	o, _ := parseFlags(nil, io.Discard)
	if len(o.impls) != 2 || len(o.intervals) != 2 || o.reps != 20 || len(o.scenarios) != 2 {
		t.Errorf("defaults = %+v, want both impls, 100ms and 1s, 20 reps, two scenarios", o)
	}
}

func TestParseFlagsVrrpdB(t *testing.T) {
	o, err := parseFlags([]string{"-impl", "vrrpd", "-vrrpd-b", "/tmp/after"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"vrrpd", "vrrpd-b"}, o.impls); diff != "" {
		t.Errorf("impls (-want +got):\n%s", diff)
	}
	if !o.interleave {
		t.Error("-vrrpd-b does not imply -interleave")
	}
}

func TestTurns(t *testing.T) {
	tests := []struct {
		name string
		o    options
		want []turn
	}{
		{"one lab per implementation", options{impls: []string{"vrrpd", "keepalived"}, reps: 3},
			[]turn{{"vrrpd", repRange{1, 3}}, {"keepalived", repRange{1, 3}}}},
		{"interleaved A B B A", options{impls: []string{"vrrpd", "vrrpd-b"}, reps: 3, interleave: true},
			[]turn{{"vrrpd", repRange{1, 1}}, {"vrrpd-b", repRange{1, 1}}, {"vrrpd-b", repRange{2, 2}}, {"vrrpd", repRange{2, 2}},
				{"vrrpd", repRange{3, 3}}, {"vrrpd-b", repRange{3, 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.o.turns(), cmp.AllowUnexported(turn{}, repRange{})); diff != "" {
				t.Errorf("turns (-want +got):\n%s", diff)
			}
		})
	}
}

func TestQuantileNearestRank(t *testing.T) {
	ds := make([]time.Duration, 20)
	for i := range ds {
		ds[i] = time.Duration(i+1) * time.Millisecond
	}
	if got := quantile(ds, 0.5); got != 10*time.Millisecond {
		t.Errorf("median of 1..20 ms = %v, want 10ms", got)
	}
	if got := quantile(ds, 0.95); got != 19*time.Millisecond {
		t.Errorf("p95 of 1..20 ms = %v, want 19ms", got)
	}
	if got := quantile(nil, 0.5); got != 0 {
		t.Errorf("quantile of nothing = %v", got)
	}
}

func TestTablePrintsRatio(t *testing.T) {
	gap := gapOf
	o := options{impls: []string{"vrrpd", "keepalived"}, intervals: []time.Duration{100 * time.Millisecond}, scenarios: []vrrplab.Kind{vrrplab.NodeLoss}}
	rs := []result{
		{"vrrpd", 100 * time.Millisecond, vrrplab.Cycle{Kind: vrrplab.NodeLoss, Failover: gap(200)}},
		{"keepalived", 100 * time.Millisecond, vrrplab.Cycle{Kind: vrrplab.NodeLoss, Failover: gap(400)}},
	}
	var b bytes.Buffer
	printTable(&b, o, rs)
	out := b.String()
	for _, want := range []string{"node-loss            vrrpd         1      200", "node-loss            keepalived    1      400", "ratio", "0.50"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestTablePrintsBOverA(t *testing.T) {
	o := options{impls: []string{"vrrpd", "vrrpd-b"}, intervals: []time.Duration{100 * time.Millisecond}, scenarios: []vrrplab.Kind{vrrplab.NodeLoss}}
	rs := []result{
		{"vrrpd", 100 * time.Millisecond, vrrplab.Cycle{Kind: vrrplab.NodeLoss, Failover: gapOf(200)}},
		{"vrrpd-b", 100 * time.Millisecond, vrrplab.Cycle{Kind: vrrplab.NodeLoss, Failover: gapOf(300)}},
	}
	var b bytes.Buffer
	printTable(&b, o, rs)
	out := b.String()
	if want := "node-loss            vrrpd-b       1      300"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q:\n%s", want, out)
	}
	if want := "100ms    node-loss            b/a                 1.50\n"; !strings.Contains(out, want) {
		t.Errorf("table lacks %q:\n%s", want, out)
	}
	if strings.Contains(out, "ratio") {
		t.Errorf("table has a vrrpd/keepalived ratio without keepalived:\n%s", out)
	}
}

// gapOf is a client outage of ms milliseconds: one failed probe, then an answer.
func gapOf(ms int) probe.Gap {
	t0 := time.Unix(0, 0)
	s := probe.Series{Results: []probe.Result{{Start: t0, Reason: probe.ReasonTimeout}, {Start: t0.Add(time.Duration(ms) * time.Millisecond), OK: true}}}
	return s.Outage()
}
