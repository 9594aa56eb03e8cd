package main

import (
	"context"
	"fmt"
	"time"

	"github.com/hachat/hachat/chatload"
)

// Table1Plan is experiment 1: the paper's httperf series, as chat sessions,
// against one chat server directly and against the VIP; then the ceiling
// of each setup.
type Table1Plan struct {
	Points []chatload.LoadPoint
	Reps   int
	Pause  time.Duration
	// Ceiling search per setup.
	CeilStart, CeilFactor, CeilMax float64
	CeilStep                       time.Duration
	CeilRefine                     int
}

// Table1Result holds experiment 1.
type Table1Result struct {
	Direct      *chatload.Series        `json:"direct"`
	VIP         *chatload.Series        `json:"vip"`
	CeilDirect  *chatload.CeilingResult `json:"ceiling_direct,omitempty"`
	CeilVIP     *chatload.CeilingResult `json:"ceiling_vip,omitempty"`
	Description string                  `json:"description"`
}

// storm is one paper-style connection: register, join a channel, send one
// message and wait for its echo, quit. That is the chat counterpart of
// httperf's one request per connection.
func (t *Topology) storm(server string) chatload.StormConfig {
	return chatload.StormConfig{
		Servers:     []string{server},
		Messages:    1,
		MessageSize: 64,
		Channel:     "#table1",
		Channels:    50,
		Timeout:     5 * time.Second, // httperf --timeout 5, as in the notes' runs
		Dial:        nsDial(t.Client()),
	}
}

const stormDescription = "Each connection registers (CAP LS, NICK/USER until 001), joins one of 50 channels, " +
	"sends one 64-byte PRIVMSG and waits for its echo-message, then QUITs: the chat counterpart of httperf's one " +
	"request per connection. Connections start open-loop at the given rate (connection i at i/rate). Response time " +
	"is the mean over all requests (registration, JOIN, PRIVMSG) of request sent → reply received; throughput is " +
	"payload bytes both ways per second of test duration (KB = 1024), httperf's Net I/O."

// RunTable1 runs experiment 1. It returns what it measured so far with an
// error when a run could not be made (never for a run with errors: errors
// are figures).
func RunTable1(ctx context.Context, t *Topology, p Table1Plan, progress func(string)) (*Table1Result, error) {
	res := &Table1Result{Description: stormDescription}
	// Labels are short: they are the plots' legend too.
	setups := []struct {
		label, short, server string
		out                  **chatload.Series
	}{
		{"one server, direct", "direct", app1Chat, &res.Direct},
		{"two servers, VIP", "VIP", vipChat, &res.VIP},
	}
	for _, s := range setups {
		label, tag := s.label, s.short
		series, err := chatload.RunSeries(ctx, chatload.SeriesConfig{
			Base: t.storm(s.server), Points: p.Points, Reps: p.Reps, Pause: p.Pause,
			OnRun: func(pi, rep int, r *chatload.StormResult) {
				f := chatload.FiguresOf(r)
				progress(fmt.Sprintf("table1 %-8s %d-%g/s rep %d/%d: response %.2f ms (p99 %.1f), %.1f KB/s, %d errors",
					tag, p.Points[pi].Conns, p.Points[pi].Rate, rep+1, p.Reps, f.ResponseMs, f.ResponseP99Ms, f.ThroughputKBps, r.Errors.Total))
			},
		})
		if series != nil {
			series.Label = label
			*s.out = series
		}
		if err != nil {
			return res, fmt.Errorf("table 1, %s: %w", label, err)
		}
	}
	if p.CeilMax <= 0 {
		return res, nil
	}
	ceilings := []struct {
		label, server string
		out           **chatload.CeilingResult
	}{
		{"direct", app1Chat, &res.CeilDirect},
		{"VIP", vipChat, &res.CeilVIP},
	}
	for _, c := range ceilings {
		label := c.label
		base := t.storm(c.server)
		// The client shares the machine with the servers it loads: a
		// start lag up to 200 ms at p99 still offers the rate within a few
		// per cent over a step; beyond it the step is client-limited and
		// the search stops there, saying so.
		base.LagWarn = ceilingLagWarn
		cr, err := chatload.RunCeiling(ctx, chatload.CeilingConfig{
			Base: base, StartRate: p.CeilStart, Factor: p.CeilFactor, MaxRate: p.CeilMax,
			StepDuration: p.CeilStep, MaxErrorRatio: 0.01, MaxP99: time.Second, Refine: p.CeilRefine,
			OnStep: func(st chatload.CeilingStep) {
				progress(fmt.Sprintf("ceiling %-6s %g conn/s: held=%v response %.2f ms p99 %.1f ms errors %.2f%% %s",
					label, st.Rate, st.Held, st.Figures.ResponseMs, st.Figures.ResponseP99Ms, 100*st.Figures.ErrorRatio, st.Reason))
			},
		})
		*c.out = cr
		if err != nil {
			return res, fmt.Errorf("ceiling %s: %w", label, err)
		}
		// Let TIME_WAIT and the servers' sessions drain before the next setup.
		if err := sleepCtx(ctx, p.Pause); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ceilingLagWarn is the client start lag (p99) above which a ceiling step
// counts as client-limited.
const ceilingLagWarn = 200 * time.Millisecond

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
