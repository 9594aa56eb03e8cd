package probe

import (
	"fmt"
	"time"
)

// Series is a run's results in start order, with its marks.
type Series struct {
	Results []Result
	Marks   []Mark
	Skipped int // scheduled probes dropped because every worker was busy
}

// Gap is one run of consecutive failed probes.
type Gap struct {
	FirstFail time.Time // start of the first failed probe
	NextOK    time.Time // start of the first successful probe after the run; zero if none
	LastOK    time.Time // start of the last successful probe before the run; zero if none
	Failed    int
	Reasons   map[Reason]int
	// Unrecovered is set when the series ends inside the gap: Duration then
	// runs to the last probe's start and is a lower bound.
	Unrecovered bool
	// MaxSpacing is the longest time between two consecutive probe starts
	// from LastOK to NextOK. Far above the interval, the client itself was
	// starved of CPU and the gap's edges are that imprecise.
	MaxSpacing time.Duration
	end        time.Time
}

// Duration is the outage: first failed probe to next successful one. Zero for no gap.
func (g Gap) Duration() time.Duration {
	if g.Failed == 0 {
		return 0
	}
	return g.end.Sub(g.FirstFail)
}

func (g Gap) String() string {
	if g.Failed == 0 {
		return "no failed probe"
	}
	s := fmt.Sprintf("%v outage (%d failed probes %v)", g.Duration().Round(time.Millisecond), g.Failed, g.Reasons)
	if g.MaxSpacing > StallThreshold {
		s += fmt.Sprintf(", client stalled %v", g.MaxSpacing.Round(time.Millisecond))
	}
	if g.Unrecovered {
		s += ", not recovered by the end"
	}
	return s
}

// StallThreshold is the probe spacing above which a Gap is reported as
// measured by a stalled client (see Gap.MaxSpacing).
const StallThreshold = 50 * time.Millisecond

// Gaps lists every run of failed probes in order.
func (s Series) Gaps() []Gap {
	var gaps []Gap
	var cur *Gap
	var lastOK, prev time.Time
	for _, r := range s.Results {
		spacing := time.Duration(0)
		if !prev.IsZero() {
			spacing = r.Start.Sub(prev)
		}
		prev = r.Start
		if r.OK {
			if cur != nil {
				cur.NextOK, cur.end = r.Start, r.Start
				cur.MaxSpacing = max(cur.MaxSpacing, spacing)
				gaps = append(gaps, *cur)
				cur = nil
			}
			lastOK = r.Start
			continue
		}
		if cur == nil {
			cur = &Gap{FirstFail: r.Start, LastOK: lastOK, Reasons: map[Reason]int{}}
		}
		cur.MaxSpacing = max(cur.MaxSpacing, spacing)
		cur.Failed++
		cur.Reasons[r.Reason]++
		cur.end = r.Start
	}
	if cur != nil {
		cur.Unrecovered = true
		gaps = append(gaps, *cur)
	}
	return gaps
}

// Outage is the longest gap (zero Gap when no probe failed).
func (s Series) Outage() Gap {
	var best Gap
	for _, g := range s.Gaps() {
		if g.Duration() > best.Duration() || (best.Failed == 0 && g.Failed > 0) {
			best = g
		}
	}
	return best
}

// OutageIn is the longest gap whose first failed probe started in
// [from, to) (to zero: no end), with its true end even if that lies after
// to. Use it rather than Window(from, to).Outage(), which would cut a gap
// that is still open at to.
func (s Series) OutageIn(from, to time.Time) Gap {
	var best Gap
	for _, g := range s.Gaps() {
		if g.FirstFail.Before(from) || (!to.IsZero() && !g.FirstFail.Before(to)) {
			continue
		}
		if g.Duration() > best.Duration() || (best.Failed == 0 && g.Failed > 0) {
			best = g
		}
	}
	return best
}

// Window returns the results that started in [from, to); a zero to means "to the end".
func (s Series) Window(from, to time.Time) Series {
	w := Series{}
	for _, r := range s.Results {
		if r.Start.Before(from) || (!to.IsZero() && !r.Start.Before(to)) {
			continue
		}
		w.Results = append(w.Results, r)
	}
	for _, m := range s.Marks {
		if !m.At.Before(from) && (to.IsZero() || m.At.Before(to)) {
			w.Marks = append(w.Marks, m)
		}
	}
	return w
}

// Failed counts failed probes.
func (s Series) Failed() int {
	n := 0
	for _, r := range s.Results {
		if !r.OK {
			n++
		}
	}
	return n
}

// Responders counts successful probes per responder.
func (s Series) Responders() map[string]int {
	m := map[string]int{}
	for _, r := range s.Results {
		if r.OK {
			m[r.Responder]++
		}
	}
	return m
}

// FirstFrom is the first successful probe answered by responder, if any.
func (s Series) FirstFrom(responder string) (Result, bool) {
	for _, r := range s.Results {
		if r.OK && r.Responder == responder {
			return r, true
		}
	}
	return Result{}, false
}
