package main

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"

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
	gap := func(ms int) probe.Gap {
		t0 := time.Unix(0, 0)
		s := probe.Series{Results: []probe.Result{{Start: t0, Reason: probe.ReasonTimeout}, {Start: t0.Add(time.Duration(ms) * time.Millisecond), OK: true}}}
		return s.Outage()
	}
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
