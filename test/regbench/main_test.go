package main

import (
	"io"
	"strings"
	"testing"
)

// proc(5): utime and stime are fields 14 and 15 of /proc/PID/stat, in
// clock ticks; the command (field 2) may hold spaces and parentheses.
func TestProc5StatUtimeStime(t *testing.T) {
	stat := "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 100 1000 200"
	got, err := parseStatCPU(stat)
	if err != nil {
		t.Fatal(err)
	}
	if got != 3.0 {
		t.Errorf("cpu = %v s, want 3 (250+50 ticks)", got)
	}
	if _, err := parseStatCPU("4242 (short) S 1"); err == nil {
		t.Error("a truncated stat line was accepted")
	}
}

func TestMedianAndSpread(t *testing.T) {
	for _, tc := range []struct {
		in   series
		want string
	}{
		{nil, "-"},
		{series{2}, "2.0"},
		{series{3, 1, 2}, "2.0 (1.0-3.0)"},
		{series{4, 1, 2, 3}, "2.5 (1.0-4.0)"},
	} {
		if got := tc.in.spread("%.1f"); got != tc.want {
			t.Errorf("%v: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestFlagsRejected(t *testing.T) {
	for _, args := range [][]string{
		{"-servers", "ergo"},
		{"-storms", "2000"},
		{"-storms", "0@100"},
		{"-ceiling-rates", "fast"},
		{"-reps", "0"},
	} {
		_, err := parseFlags(args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), args[0]) {
			t.Errorf("%q: error %v, want one naming %s", args, err, args[0])
		}
	}
}

// The best reference is the lowest figure for latency, CPU and memory, and
// the highest for a rate.
func TestRatioToBestReference(t *testing.T) {
	r := &results{servers: []string{"chatd", "ngircd", "inspircd"}, index: map[string]*metric{}}
	lat := r.row("p99", "%.1f", true)
	lat.by = map[string]series{"chatd": {4}, "ngircd": {2}, "inspircd": {1000}}
	rate := r.row("rate", "%.0f", false)
	rate.by = map[string]series{"chatd": {4000}, "ngircd": {4000}, "inspircd": {2000}}
	if got := r.ratio(lat); got != "2.00x ngircd" {
		t.Errorf("latency ratio %q", got)
	}
	if got := r.ratio(rate); got != "1.00x ngircd" {
		t.Errorf("rate ratio %q", got)
	}
}
