package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hachat/hachat/chatload"
)

// The ceiling comparison (-compare-ceilings N) asks the paper's question
// with a number: how much more do two servers behind the VIP carry than one
// server alone (issue #17)? It runs the ceiling search of Table 1 against
// app1 directly and against the VIP, N times each, interleaved (the order
// alternates per repetition) so the shared machine's drift hits both, and
// writes ceilings.md: each search's ceiling, the median (min–max) per
// setup, the ratio VIP/direct of the medians and of each repetition's pair,
// the load average around each search, and how often each machine's CPU
// budget ran out during it. Run it with -machine-cpu: without budgets both
// setups share the same two cores and the ratio measures the box.

// CeilingRun is one ceiling search of the comparison.
type CeilingRun struct {
	Setup string `json:"setup"` // "direct" or "vip"
	Rep   int    `json:"rep"`
	// Ceiling is the highest rate held (conn/s); FirstFailed the lowest
	// that failed, 0 if the search reached its maximum.
	Ceiling     float64 `json:"ceiling"`
	FirstFailed float64 `json:"first_failed,omitempty"`
	// Why is the first failed step's reason; ClientLimited says the load
	// generator, not the servers, failed it (the ceiling is then a lower
	// bound).
	Why           string `json:"why,omitempty"`
	ClientLimited bool   `json:"client_limited,omitempty"`
	// Throttled counts, per budgeted machine, the 100 ms periods in which
	// its budget ran out during the search.
	Throttled map[string]int64        `json:"throttled,omitempty"`
	LoadAvg   [2]string               `json:"loadavg"` // before, after
	Result    *chatload.CeilingResult `json:"result"`
}

// ceilingSetups are the compared setups, in their first order.
var ceilingSetups = []struct{ name, server string }{
	{"direct", app1Chat},
	{"vip", vipChat},
}

// CompareCeilings runs the comparison and writes ceilings.md and
// ceilings.json into dir.
func CompareCeilings(ctx context.Context, t *Topology, p Table1Plan, reps int, dir string, progress func(string)) ([]CeilingRun, error) {
	var runs []CeilingRun
	var err error
	for rep := range reps {
		for i := range ceilingSetups {
			s := ceilingSetups[(i+rep)%len(ceilingSetups)]
			if err = sleepCtx(ctx, p.Pause); err != nil {
				break
			}
			var r CeilingRun
			r, err = t.ceilingRun(ctx, p, s.name, s.server, rep, progress)
			runs = append(runs, r)
			if err != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if len(runs) == 0 {
		return nil, err
	}
	f, ferr := os.Create(filepath.Join(dir, "ceilings.md"))
	if ferr != nil {
		return runs, ferr
	}
	defer f.Close()
	writeCeilings(f, t, p, runs)
	jerr := chatload.WriteFile(filepath.Join(dir, "ceilings.json"), func(w io.Writer) error { return chatload.WriteJSON(w, runs) })
	if err != nil {
		return runs, fmt.Errorf("compare ceilings: %w", err)
	}
	return runs, jerr
}

// ceilingRun is one search against server.
func (t *Topology) ceilingRun(ctx context.Context, p Table1Plan, setup, server string, rep int, progress func(string)) (CeilingRun, error) {
	r := CeilingRun{Setup: setup, Rep: rep, LoadAvg: [2]string{loadAvg()}}
	before := t.CPUReport()
	base := t.storm(server)
	base.LagWarn = ceilingLagWarn
	cr, err := chatload.RunCeiling(ctx, chatload.CeilingConfig{
		Base: base, StartRate: p.CeilStart, Factor: p.CeilFactor, MaxRate: p.CeilMax,
		StepDuration: p.CeilStep, MaxErrorRatio: 0.01, MaxP99: time.Second, Refine: p.CeilRefine,
		// A failed step runs once more: on a shared machine one step can
		// fail on a neighbour's burst, and a search stops at its first
		// failure.
		Retries: 1,
		OnStep: func(st chatload.CeilingStep) {
			progress(fmt.Sprintf("ceilings %-6s rep %d: %g conn/s: held=%v response %.2f ms p99 %.1f ms errors %.2f%% %s",
				setup, rep+1, st.Rate, st.Held, st.Figures.ResponseMs, st.Figures.ResponseP99Ms, 100*st.Figures.ErrorRatio, st.Reason))
		},
	})
	r.LoadAvg[1] = loadAvg()
	r.Result = cr
	if cr != nil {
		r.Ceiling, r.FirstFailed = cr.HighestHeld, cr.FirstFailed
		for _, st := range cr.Steps {
			if !st.Held && st.Rate == cr.FirstFailed {
				r.Why, r.ClientLimited = st.Reason, st.ClientLimited
			}
		}
	}
	after := t.CPUReport()
	for n, st := range after.Throttle {
		if r.Throttled == nil {
			r.Throttled = map[string]int64{}
		}
		r.Throttled[n] = st.Throttled - before.Throttle[n].Throttled
	}
	progress(fmt.Sprintf("ceilings %-6s rep %d: ceiling %g conn/s (first failed %g: %s)", setup, rep+1, r.Ceiling, r.FirstFailed, r.Why))
	return r, err
}

// writeCeilings renders the comparison.
func writeCeilings(w io.Writer, t *Topology, p Table1Plan, runs []CeilingRun) {
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f("# Ceilings: one server directly against two behind the VIP\n\n")
	f("Each search starts at %g conn/s and multiplies the rate by %g while a %s step holds (errors ≤ 1 %%, "+
		"p99 reply ≤ 1 s; a failed step is run once more), then bisects %d times between the last held and the first failed rate. "+
		"The setups alternate within each repetition. CPU budgets: %s.\n\n",
		p.CeilStart, p.CeilFactor, p.CeilStep, p.CeilRefine, t.MachineCPU)
	f("| rep | setup | ceiling [conn/s] | first failed | why | load average before → after | budget ran out (periods) |\n")
	f("|---:|---|---:|---:|---|---|---|\n")
	for _, r := range runs {
		why := r.Why
		if r.ClientLimited {
			why += " (client-limited: the ceiling is a lower bound)"
		}
		f("| %d | %s | %g | %s | %s | %s → %s | %s |\n", r.Rep+1, r.Setup, r.Ceiling, orDash(r.FirstFailed), why,
			r.LoadAvg[0], r.LoadAvg[1], fmtThrottled(r.Throttled))
	}
	by := map[string][]float64{}
	for _, r := range runs {
		by[r.Setup] = append(by[r.Setup], r.Ceiling)
	}
	f("\n")
	for _, s := range ceilingSetups {
		xs := slices.Sorted(slices.Values(by[s.name]))
		if len(xs) > 0 {
			f("- **%s**: median %g conn/s (%g–%g, %d searches)\n", s.name, median(xs), xs[0], xs[len(xs)-1], len(xs))
		}
	}
	d, v := slices.Sorted(slices.Values(by["direct"])), slices.Sorted(slices.Values(by["vip"]))
	if len(d) > 0 && len(v) > 0 && median(d) > 0 {
		f("- **VIP / direct**: %.2fx (ratio of the medians)", median(v)/median(d))
		if pr := pairRatios(runs); len(pr) > 0 {
			f("; per repetition %s", strings.Join(pr, ", "))
		}
		f("\n")
	}
}

// pairRatios is vip/direct within each repetition that has both.
func pairRatios(runs []CeilingRun) []string {
	var out []string
	for rep := 0; ; rep++ {
		var d, v float64
		found := false
		for _, r := range runs {
			if r.Rep != rep {
				continue
			}
			found = true
			if r.Setup == "direct" {
				d = r.Ceiling
			} else {
				v = r.Ceiling
			}
		}
		if !found {
			return out
		}
		if d > 0 && v > 0 {
			out = append(out, fmt.Sprintf("%.2fx", v/d))
		}
	}
}

func orDash(x float64) string {
	if x == 0 {
		return "–"
	}
	return fmt.Sprintf("%g", x)
}

func fmtThrottled(m map[string]int64) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(m)) {
		if m[n] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", n, m[n]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
