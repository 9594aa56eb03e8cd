package chatload

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// PlotFormats are the file types every plot is written in.
var PlotFormats = []string{"png", "svg"}

// PlotSeries draws the paper's Figure 3 (response time against load) and
// Figure 4 (throughput against load) for one or more series, e.g. "single
// server" and "load balanced", as response-time.{png,svg} and
// throughput.{png,svg} in dir. Points are medians with min–max error bars;
// the response figure adds the p99 as a dashed line. It returns the files
// written.
func PlotSeries(dir string, series ...*Series) ([]string, error) {
	if len(series) == 0 {
		return nil, errors.New("plot: no series")
	}
	var ticks []plot.Tick
	seen := map[float64]bool{}
	for _, s := range series {
		for _, p := range s.Points {
			x := float64(p.Conns)
			if !seen[x] {
				seen[x] = true
				ticks = append(ticks, plot.Tick{Value: x, Label: strconv.Itoa(p.Conns) + "-" + strconv.FormatFloat(p.Rate, 'g', -1, 64) + "/s"})
			}
		}
	}
	xOf := func(p SeriesPoint) float64 { return float64(p.Conns) }
	resp, err := linePlot("Response time", "connections - rate", "response time [ms]", ticks)
	if err != nil {
		return nil, err
	}
	thr, err := linePlot("Throughput (Net I/O)", "connections - rate", "throughput [KB/s]", ticks)
	if err != nil {
		return nil, err
	}
	for i, s := range series {
		label := s.Label
		if label == "" {
			label = fmt.Sprintf("series %d", i+1)
		}
		if err := addMedianWithBars(resp, i, label, s.Points, xOf,
			func(f Figures) float64 { return f.ResponseMs }); err != nil {
			return nil, err
		}
		if err := addLine(resp, i, label+" p99", s.Points, xOf,
			func(p SeriesPoint) float64 { return p.Median.ResponseP99Ms }, true); err != nil {
			return nil, err
		}
		if err := addMedianWithBars(thr, i, label, s.Points, xOf,
			func(f Figures) float64 { return f.ThroughputKBps }); err != nil {
			return nil, err
		}
	}
	var files []string
	for name, p := range map[string]*plot.Plot{"response-time": resp, "throughput": thr} {
		fs, err := savePlot(p, dir, name)
		if err != nil {
			return files, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

// PlotCeiling draws response time and throughput against the offered rate
// of a ceiling search, with the highest rate held marked.
func PlotCeiling(dir string, c *CeilingResult) ([]string, error) {
	if len(c.Steps) == 0 {
		return nil, errors.New("plot: ceiling has no steps")
	}
	pts := make([]SeriesPoint, len(c.Steps))
	for i, s := range c.Steps {
		pts[i] = SeriesPoint{LoadPoint: LoadPoint{Conns: s.Conns, Rate: s.Rate}, Reps: 1,
			Median: s.Figures, Min: s.Figures, Max: s.Figures}
	}
	xOf := func(p SeriesPoint) float64 { return p.Rate }
	title := fmt.Sprintf("Ceiling: highest rate held %g conn/s", c.HighestHeld)
	resp, err := linePlot(title, "offered rate [conn/s]", "response time [ms]", nil)
	if err != nil {
		return nil, err
	}
	thr, err := linePlot(title, "offered rate [conn/s]", "throughput [KB/s]", nil)
	if err != nil {
		return nil, err
	}
	if err := addLine(resp, 0, "avg", pts, xOf, func(p SeriesPoint) float64 { return p.Median.ResponseMs }, false); err != nil {
		return nil, err
	}
	if err := addLine(resp, 1, "p99", pts, xOf, func(p SeriesPoint) float64 { return p.Median.ResponseP99Ms }, true); err != nil {
		return nil, err
	}
	if err := addLine(thr, 0, "Net I/O", pts, xOf, func(p SeriesPoint) float64 { return p.Median.ThroughputKBps }, false); err != nil {
		return nil, err
	}
	var files []string
	for name, p := range map[string]*plot.Plot{"ceiling-response-time": resp, "ceiling-throughput": thr} {
		fs, err := savePlot(p, dir, name)
		if err != nil {
			return files, err
		}
		files = append(files, fs...)
	}
	return files, nil
}

func linePlot(title, x, y string, ticks []plot.Tick) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = x
	p.Y.Label.Text = y
	p.Y.Min = 0
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	if len(ticks) > 0 {
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	return p, nil
}

// errPoints feeds NewYErrorBars: errors are relative to the median.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

func addMedianWithBars(p *plot.Plot, i int, label string, pts []SeriesPoint, xOf func(SeriesPoint) float64, y func(Figures) float64) error {
	if err := addLine(p, i, label, pts, xOf, func(sp SeriesPoint) float64 { return y(sp.Median) }, false); err != nil {
		return err
	}
	ep := errPoints{XYs: make(plotter.XYs, len(pts)), YErrors: make(plotter.YErrors, len(pts))}
	for j, sp := range pts {
		m := y(sp.Median)
		ep.XYs[j] = plotter.XY{X: xOf(sp), Y: m}
		ep.YErrors[j].Low = m - y(sp.Min)
		ep.YErrors[j].High = y(sp.Max) - m
	}
	bars, err := plotter.NewYErrorBars(ep)
	if err != nil {
		return fmt.Errorf("plot %s error bars: %w", label, err)
	}
	bars.Color = plotutil.Color(i)
	p.Add(bars)
	return nil
}

func addLine(p *plot.Plot, i int, label string, pts []SeriesPoint, xOf, y func(SeriesPoint) float64, dashed bool) error {
	xys := make(plotter.XYs, len(pts))
	for j, sp := range pts {
		xys[j] = plotter.XY{X: xOf(sp), Y: y(sp)}
	}
	l, s, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("plot %s: %w", label, err)
	}
	l.Color = plotutil.Color(i)
	s.Color = plotutil.Color(i)
	s.Shape = plotutil.Shape(i)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		p.Legend.Add(label, l)
		return nil
	}
	p.Add(l, s)
	p.Legend.Add(label, l, s)
	return nil
}

func savePlot(p *plot.Plot, dir, name string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot dir: %w", err)
	}
	var files []string
	for _, ext := range PlotFormats {
		f := filepath.Join(dir, name+"."+ext)
		if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, f); err != nil {
			return files, fmt.Errorf("plot %s: %w", f, err)
		}
		files = append(files, f)
	}
	return files, nil
}

// timelineSeries is one line of a timeline plot; optional lines are left
// out when they stay at zero, to keep the legend short.
type timelineSeries struct {
	label    string
	get      func(TimelineBin) int64
	optional bool
}

var chatSeries = []timelineSeries{
	{label: "sent", get: func(b TimelineBin) int64 { return b.Sent }},
	{label: "delivered live", get: func(b TimelineBin) int64 { return b.Delivered }},
	{label: "replayed (CHATHISTORY)", get: func(b TimelineBin) int64 { return b.Replayed }, optional: true},
	{label: "disconnects", get: func(b TimelineBin) int64 { return b.Disconnects }, optional: true},
}

var stormSeries = []timelineSeries{
	{label: "connections started", get: func(b TimelineBin) int64 { return b.Started }},
	{label: "replies", get: func(b TimelineBin) int64 { return b.Replies }},
	{label: "errors", get: func(b TimelineBin) int64 { return b.Errors }, optional: true},
}

// PlotStorm draws connections started, replies and errors per second over
// one storm, as storm-timeline.{png,svg}: whether the offered rate was held
// and when errors began.
func PlotStorm(dir string, r *StormResult) ([]string, error) {
	title := fmt.Sprintf("Storm: %d connections at %g/s", r.Config.Conns, r.Config.Rate)
	return plotTimeline(dir, "storm-timeline", title, "time since the first scheduled start [s]", stormSeries, r.Timeline, 1, -1)
}

// PlotSteady draws messages sent and delivered per second over the run, as
// steady-timeline.{png,svg}.
func PlotSteady(dir string, r *SteadyResult) ([]string, error) {
	return plotTimeline(dir, "steady-timeline", "Steady load: messages per second", "time since first message [s]",
		chatSeries, r.Timeline, r.TimelineWidthS, -1)
}

// PlotFailover draws sent, delivered and replayed messages per second and
// disconnects over the run, with the hook's cue marked, as
// failover-timeline.{png,svg}: the dip and the recovery in one picture.
func PlotFailover(dir string, r *FailoverResult) ([]string, error) {
	at := -1.0
	if r.Hook.Ran {
		at = r.Hook.AtS
	}
	return plotTimeline(dir, "failover-timeline", "Failover: messages per second", "time since first message [s]",
		chatSeries, r.Steady.Timeline, r.Steady.TimelineWidthS, at)
}

func plotTimeline(dir, name, title, xLabel string, series []timelineSeries, bins []TimelineBin, width, markS float64) ([]string, error) {
	if len(bins) == 0 || width <= 0 {
		return nil, errors.New("plot: empty timeline")
	}
	p, err := linePlot(title, xLabel, "per second", nil)
	if err != nil {
		return nil, err
	}
	p.Legend.Left = false // the run starts at the left edge; keep it clear
	top := 0.0
	for i, s := range series {
		xys := make(plotter.XYs, len(bins))
		any := false
		for j, b := range bins {
			v := float64(s.get(b)) / width
			xys[j] = plotter.XY{X: b.StartS + width/2, Y: v}
			any = any || v > 0
			top = max(top, v)
		}
		if !any && s.optional {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("plot %s: %w", s.label, err)
		}
		l.Color = plotutil.Color(i)
		p.Add(l)
		p.Legend.Add(s.label, l)
	}
	if top > 0 {
		p.Y.Max = top * 1.15 // headroom: a steady line must not sit on the frame
	}
	if markS >= 0 {
		l, err := plotter.NewLine(plotter.XYs{{X: markS, Y: 0}, {X: markS, Y: top}})
		if err != nil {
			return nil, fmt.Errorf("plot cue: %w", err)
		}
		l.Dashes = []vg.Length{vg.Points(2), vg.Points(2)}
		p.Add(l)
		p.Legend.Add("hook", l)
	}
	return savePlot(p, dir, name)
}
