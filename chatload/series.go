package chatload

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// LoadPoint is one point of a series: Conns connections at Rate per second,
// as in the paper's "1000-100/s".
type LoadPoint struct {
	Conns int     `json:"conns"`
	Rate  float64 `json:"rate"`
}

// ParseSeries parses "1000:100,2000:200" into load points.
func ParseSeries(s string) ([]LoadPoint, error) {
	var out []LoadPoint
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		c, r, ok := strings.Cut(item, ":")
		conns, err1 := strconv.Atoi(c)
		rate, err2 := strconv.ParseFloat(r, 64)
		if !ok || err1 != nil || err2 != nil || conns <= 0 || rate <= 0 {
			return nil, fmt.Errorf("series point %q: want conns:rate with both positive, e.g. 1000:100", item)
		}
		out = append(out, LoadPoint{Conns: conns, Rate: rate})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("series %q: no points", s)
	}
	return out, nil
}

// Figures are the headline numbers of one storm, the ones the paper plots.
type Figures struct {
	// ResponseMs is the average reply time over all requests (the paper's
	// response time); ResponseP99Ms its 99th percentile.
	ResponseMs    float64 `json:"response_ms"`
	ResponseP99Ms float64 `json:"response_p99_ms"`
	ConnTimeMs    float64 `json:"conn_time_ms"`
	ConnRate      float64 `json:"conn_rate"`
	// ThroughputKBps is httperf's Net I/O in KB/s (the paper's throughput).
	ThroughputKBps float64 `json:"throughput_kb_s"`
	Errors         float64 `json:"errors"`
	ErrorRatio     float64 `json:"error_ratio"`
}

// FiguresOf extracts the headline figures of a storm.
func FiguresOf(r *StormResult) Figures {
	f := Figures{
		ResponseMs:     r.Reply.All.Avg,
		ResponseP99Ms:  r.Reply.All.P99,
		ConnTimeMs:     r.ConnectionTime.Avg,
		ConnRate:       r.ConnRate,
		ThroughputKBps: r.NetIO.KBPerSec,
		Errors:         float64(r.Errors.Total),
	}
	if r.Connections.Initiated > 0 {
		f.ErrorRatio = float64(r.Errors.Total) / float64(r.Connections.Initiated)
	}
	return f
}

// fields lists Figures' members for per-field aggregation.
var figureFields = []func(*Figures) *float64{
	func(f *Figures) *float64 { return &f.ResponseMs },
	func(f *Figures) *float64 { return &f.ResponseP99Ms },
	func(f *Figures) *float64 { return &f.ConnTimeMs },
	func(f *Figures) *float64 { return &f.ConnRate },
	func(f *Figures) *float64 { return &f.ThroughputKBps },
	func(f *Figures) *float64 { return &f.Errors },
	func(f *Figures) *float64 { return &f.ErrorRatio },
}

func aggregate(runs []Figures, agg func([]float64) float64) Figures {
	var out Figures
	xs := make([]float64, len(runs))
	for _, field := range figureFields {
		for i := range runs {
			xs[i] = *field(&runs[i])
		}
		*field(&out) = agg(xs)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func minOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Min(xs)
}

func maxOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return slices.Max(xs)
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	var sum float64
	for _, x := range xs {
		sum += x
	}
	m := sum / float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - m) * (x - m)
	}
	return math.Sqrt(ss / float64(len(xs)-1))
}

// SeriesPoint is one load point after its repetitions: the median per
// figure and its spread.
type SeriesPoint struct {
	LoadPoint
	Reps    int            `json:"reps"`
	Median  Figures        `json:"median"`
	Min     Figures        `json:"min"`
	Max     Figures        `json:"max"`
	Stddev  Figures        `json:"stddev"`
	Runs    []Figures      `json:"runs"`
	Results []*StormResult `json:"results,omitempty"`
	// ClientLimited is set when any repetition hit a client limit; such a
	// point says nothing about the server.
	ClientLimited bool     `json:"client_limited,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

// NewSeriesPoint aggregates repeated storms of one load point.
func NewSeriesPoint(p LoadPoint, results []*StormResult) SeriesPoint {
	sp := SeriesPoint{LoadPoint: p, Reps: len(results), Results: results}
	seen := map[string]bool{}
	for _, r := range results {
		sp.Runs = append(sp.Runs, FiguresOf(r))
		if r.Errors.ClientLimited() {
			sp.ClientLimited = true
		}
		for _, w := range r.Warnings {
			if !seen[w] {
				seen[w] = true
				sp.Warnings = append(sp.Warnings, w)
			}
		}
	}
	sp.Median = aggregate(sp.Runs, median)
	sp.Min = aggregate(sp.Runs, minOf)
	sp.Max = aggregate(sp.Runs, maxOf)
	sp.Stddev = aggregate(sp.Runs, stddev)
	return sp
}

// SeriesConfig runs a storm per point, Reps times each.
type SeriesConfig struct {
	Base   StormConfig `json:"base"`
	Points []LoadPoint `json:"points"`
	Reps   int         `json:"reps"`
	// Pause between runs lets the server and the TIME_WAIT table settle,
	// so one run does not tax the next.
	Pause time.Duration `json:"pause"`
	// OnRun, when set, sees every finished storm (point index, repetition).
	OnRun func(point, rep int, r *StormResult) `json:"-"`
}

// Series is the result of RunSeries.
type Series struct {
	Label  string        `json:"label,omitempty"`
	Points []SeriesPoint `json:"points"`
}

// RunSeries runs every point Reps times and aggregates each point.
func RunSeries(ctx context.Context, cfg SeriesConfig) (*Series, error) {
	if len(cfg.Points) == 0 {
		return nil, fmt.Errorf("series: no points")
	}
	reps := max(cfg.Reps, 1)
	out := &Series{}
	for pi, p := range cfg.Points {
		var results []*StormResult
		for rep := 0; rep < reps; rep++ {
			if (pi > 0 || rep > 0) && cfg.Pause > 0 {
				select {
				case <-ctx.Done():
					return out, ctx.Err()
				case <-time.After(cfg.Pause):
				}
			}
			sc := cfg.Base
			sc.Conns, sc.Rate = p.Conns, p.Rate
			r, err := RunStorm(ctx, sc)
			if err != nil {
				if r != nil {
					results = append(results, r)
					out.Points = append(out.Points, NewSeriesPoint(p, results))
				}
				return out, fmt.Errorf("series point %d:%g rep %d: %w", p.Conns, p.Rate, rep+1, err)
			}
			if cfg.OnRun != nil {
				cfg.OnRun(pi, rep, r)
			}
			results = append(results, r)
		}
		out.Points = append(out.Points, NewSeriesPoint(p, results))
	}
	return out, nil
}
