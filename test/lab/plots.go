package main

import (
	"fmt"
	"os"
	"path/filepath"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// plotProbes draws, per trial, whether new connections succeeded around
// the fault: one band per trial, high when the probe connected, low when
// it failed, with time 0 at the fault. It writes probes.{png,svg}.
func plotProbes(dir string, runs []*ScenarioRun) ([]string, error) {
	p := plot.New()
	p.Title.Text = "New connections to the VIP around each fault (high = connected)"
	p.X.Label.Text = "seconds from the fault"
	p.Y.Label.Text = "trial"
	var ticks []plot.Tick
	for i, r := range runs {
		base := float64(len(runs) - 1 - i)
		ticks = append(ticks, plot.Tick{Value: base + 0.4, Label: fmt.Sprintf("%s #%d", r.Scenario, r.Rep)})
		pts := make(plotter.XYs, 0, len(r.Samples))
		for _, s := range r.Samples {
			y := base
			if s.OK {
				y += 0.8
			}
			pts = append(pts, plotter.XY{X: s.At.Seconds() - r.HookAtS, Y: y})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("plot probes: %w", err)
		}
		l.StepStyle = plotter.PreStep
		l.Color = plotutil.Color(i)
		p.Add(l)
	}
	p.Y.Tick.Marker = plot.ConstantTicks(ticks)
	p.Y.Min, p.Y.Max = -0.2, float64(len(runs)) // every band and its label in view
	p.Add(plotter.NewGrid())
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	h := vg.Length(1.2+0.5*float64(len(runs))) * vg.Inch
	for _, ext := range []string{"png", "svg"} {
		f := filepath.Join(dir, "probes."+ext)
		if err := p.Save(9*vg.Inch, h, f); err != nil {
			return files, fmt.Errorf("plot probes: %w", err)
		}
		files = append(files, f)
	}
	return files, nil
}
