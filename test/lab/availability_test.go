package main

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func TestOutages(t *testing.T) {
	ok := func(at int) Sample { return Sample{At: ms(at), OK: true} }
	bad := func(at int) Sample { return Sample{At: ms(at)} }
	tests := []struct {
		name    string
		samples []Sample
		end     time.Duration
		want    []Outage
	}{
		{"all good", []Sample{ok(0), ok(20), ok(40)}, ms(60), nil},
		{"one outage restored", []Sample{ok(0), bad(20), bad(40), ok(60), ok(80)}, ms(100),
			[]Outage{{Start: ms(20), End: ms(60), Restored: true}}},
		{"two outages", []Sample{bad(0), ok(10), bad(20), bad(30), ok(50)}, ms(60),
			[]Outage{{Start: 0, End: ms(10), Restored: true}, {Start: ms(20), End: ms(50), Restored: true}}},
		{"never restored runs to the end", []Sample{ok(0), bad(20), bad(40)}, ms(100),
			[]Outage{{Start: ms(20), End: ms(100)}}},
		{"unsorted input", []Sample{ok(60), bad(20), ok(0)}, ms(80),
			[]Outage{{Start: ms(20), End: ms(60), Restored: true}}},
		{"end before last failure", []Sample{bad(50)}, ms(10), []Outage{{Start: ms(50), End: ms(50)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, Outages(tc.samples, tc.end)); diff != "" {
				t.Errorf("Outages (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDowntimeAndLongest(t *testing.T) {
	os := []Outage{{Start: 0, End: ms(10)}, {Start: ms(20), End: ms(50)}}
	if got := Downtime(os); got != ms(40) {
		t.Errorf("Downtime = %v, want 40ms", got)
	}
	if got := Longest(os); got != ms(30) {
		t.Errorf("Longest = %v, want 30ms", got)
	}
	if Downtime(nil) != 0 || Longest(nil) != 0 {
		t.Error("no outages must give zero")
	}
}

// TestAvailabilityPaper checks the paper's two figures, computed with
// uptime / (uptime + downtime): 129 s up, 2 s down is 98.47 %, and 65 s up,
// 2 s down is 97.01 %. The formula as printed, MTTR / (MTTR + MTTR), would
// give 50 % for both.
func TestAvailabilityPaper(t *testing.T) {
	for _, tc := range []struct {
		up, down time.Duration
		want     float64
	}{
		{129 * time.Second, 2 * time.Second, 0.98473},
		{65 * time.Second, 2 * time.Second, 0.97015},
		{time.Minute, 0, 1},
		{0, time.Minute, 0},
		{0, 0, 1},
	} {
		got := Availability(tc.up, tc.down)
		if d := got - tc.want; d > 1e-5 || d < -1e-5 {
			t.Errorf("Availability(%v, %v) = %.5f, want %.5f", tc.up, tc.down, got, tc.want)
		}
	}
	if got := WindowAvailability(10*time.Second, 20*time.Second); got != 0 {
		t.Errorf("downtime longer than the window: %v, want 0", got)
	}
	if got := WindowAvailability(10*time.Second, time.Second); got != 0.9 {
		t.Errorf("WindowAvailability(10s, 1s) = %v, want 0.9", got)
	}
}

func TestClip(t *testing.T) {
	os := []Outage{
		{Start: ms(0), End: ms(100), Restored: true},   // straddles the start
		{Start: ms(200), End: ms(300), Restored: true}, // inside
		{Start: ms(900), End: ms(1500)},                // straddles the end, never restored
		{Start: ms(2000), End: ms(2100), Restored: true},
	}
	want := []Outage{
		{Start: ms(50), End: ms(100), Restored: true},
		{Start: ms(200), End: ms(300), Restored: true},
		{Start: ms(900), End: ms(1000)},
	}
	if diff := cmp.Diff(want, Clip(os, ms(50), ms(1000))); diff != "" {
		t.Errorf("Clip (-want +got):\n%s", diff)
	}
}
