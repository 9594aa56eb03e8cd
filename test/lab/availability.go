package main

import (
	"sort"
	"time"
)

// Sample is one probe of the service: a new TCP connection to the VIP's
// chat port, opened At after the run started.
type Sample struct {
	At time.Duration `json:"at_ns"`
	OK bool          `json:"ok"`
}

// Outage is one stretch during which new connections failed: from the
// first failed probe to the next successful one (or the end of the window
// when none followed).
type Outage struct {
	Start    time.Duration `json:"start_ns"`
	End      time.Duration `json:"end_ns"`
	Restored bool          `json:"restored"` // a probe succeeded again before the window ended
}

// Duration is how long the outage lasted.
func (o Outage) Duration() time.Duration { return o.End - o.Start }

// Outages finds the outages in samples over a window ending at end. A
// stretch starts at its first failed probe, not at the last good one:
// a failure is known only when a probe sees it, and counting from the last
// success would charge the probe interval to every outage.
func Outages(samples []Sample, end time.Duration) []Outage {
	s := append([]Sample(nil), samples...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].At < s[j].At })
	var out []Outage
	var cur *Outage
	for _, x := range s {
		switch {
		case !x.OK && cur == nil:
			cur = &Outage{Start: x.At}
		case x.OK && cur != nil:
			cur.End, cur.Restored = x.At, true
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		cur.End = max(end, cur.Start)
		out = append(out, *cur)
	}
	return out
}

// Downtime adds up the outages.
func Downtime(os []Outage) time.Duration {
	var d time.Duration
	for _, o := range os {
		d += o.Duration()
	}
	return d
}

// Longest is the longest single outage (0 when there is none).
func Longest(os []Outage) time.Duration {
	var d time.Duration
	for _, o := range os {
		d = max(d, o.Duration())
	}
	return d
}

// Availability is uptime / (uptime + downtime), the steady-state
// availability MTBF / (MTBF + MTTR) computed from one observed window. The
// paper printed the formula as MTTR / (MTTR + MTTR), which is always 1/2;
// its numbers (129 / (129 + 2) = 98.4 %) were computed with the right one.
// It returns 1 for an empty window with no downtime, and 0 when uptime and
// downtime are both 0 but the window was down.
func Availability(uptime, downtime time.Duration) float64 {
	if uptime < 0 {
		uptime = 0
	}
	if downtime < 0 {
		downtime = 0
	}
	if uptime+downtime == 0 {
		return 1
	}
	return float64(uptime) / float64(uptime+downtime)
}

// WindowAvailability is the availability over a window of length window
// holding the given downtime: (window - downtime) / window.
func WindowAvailability(window, downtime time.Duration) float64 {
	downtime = min(downtime, window)
	return Availability(window-downtime, downtime)
}

// Clip cuts outages to the window [from, to], dropping those outside it.
// Restored is kept: it says whether the service came back at all.
func Clip(os []Outage, from, to time.Duration) []Outage {
	var out []Outage
	for _, o := range os {
		if o.End < from || o.Start > to {
			continue
		}
		o.Start, o.End = max(o.Start, from), min(o.End, to)
		out = append(out, o)
	}
	return out
}
