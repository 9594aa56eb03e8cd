package chatload

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"
)

// CeilingConfig raises the offered connection rate step by step until the
// server stops holding it, like Mattermost's load-test coordinator does with
// users, to turn "errors above 3000 connections" into a measured number.
type CeilingConfig struct {
	// Base is the storm template; Conns and Rate are set per step.
	Base      StormConfig `json:"base"`
	StartRate float64     `json:"start_rate"`
	// Step is added to the rate after each held step; Factor, when > 1,
	// multiplies it instead.
	Step    float64 `json:"step"`
	Factor  float64 `json:"factor,omitempty"`
	MaxRate float64 `json:"max_rate"`
	// StepDuration sets each step's connections: rate × duration.
	StepDuration time.Duration `json:"step_duration"`
	// A step fails when errors/initiated exceeds MaxErrorRatio or the p99
	// reply time exceeds MaxP99.
	MaxErrorRatio float64       `json:"max_error_ratio"`
	MaxP99        time.Duration `json:"max_p99"`
	// MaxClientCPU is the share of all cores the client may use before a
	// step counts as client-limited; 0 means 0.85, negative disables.
	MaxClientCPU float64 `json:"max_client_cpu,omitempty"`
	// Refine bisects between the last held and the first failed rate this
	// many times.
	Refine int `json:"refine,omitempty"`
	// Retries reruns a failed step up to this many times; it holds if any
	// run holds (each run is listed in Steps).
	Retries int `json:"retries,omitempty"`
	// OnStep, when set, sees each finished step.
	OnStep func(CeilingStep) `json:"-"`
}

// CeilingStep is one rate tried.
type CeilingStep struct {
	Rate    float64 `json:"rate"`
	Conns   int     `json:"conns"`
	Held    bool    `json:"held"`
	Reason  string  `json:"reason,omitempty"`
	Figures Figures `json:"figures"`
	// ClientLimited: the client, not the server, failed this step.
	ClientLimited bool `json:"client_limited,omitempty"`
}

// CeilingResult is the outcome of a search.
type CeilingResult struct {
	Config CeilingConfig `json:"config"`
	Steps  []CeilingStep `json:"steps"`
	// HighestHeld is the highest rate that met both thresholds; 0 if none.
	HighestHeld float64 `json:"highest_held"`
	// FirstFailed is the lowest rate that failed; 0 if MaxRate held.
	FirstFailed float64  `json:"first_failed,omitempty"`
	Warnings    []string `json:"warnings,omitempty"`
}

func (c CeilingConfig) withDefaults() (CeilingConfig, error) {
	if c.StartRate <= 0 {
		return c, errors.New("ceiling: start rate must be positive")
	}
	if c.Step <= 0 && c.Factor <= 1 {
		return c, errors.New("ceiling: need a positive step or a factor above 1")
	}
	if c.MaxRate < c.StartRate {
		return c, fmt.Errorf("ceiling: max rate %g below start rate %g", c.MaxRate, c.StartRate)
	}
	if c.StepDuration <= 0 {
		c.StepDuration = 10 * time.Second
	}
	if c.Retries < 0 || c.Refine < 0 {
		return c, errors.New("ceiling: retries and refine must not be negative")
	}
	if c.MaxErrorRatio < 0 {
		return c, errors.New("ceiling: max error ratio must not be negative")
	}
	if c.MaxP99 <= 0 {
		c.MaxP99 = time.Second
	}
	return c, nil
}

func (c CeilingConfig) maxCPU() float64 {
	if c.MaxClientCPU == 0 {
		return cpuWarnFraction
	}
	return c.MaxClientCPU
}

// judge decides whether a step held, and why not.
func (c CeilingConfig) judge(r *StormResult) CeilingStep {
	f := FiguresOf(r)
	st := CeilingStep{Rate: r.Config.Rate, Conns: r.Config.Conns, Figures: f, Held: true}
	maxP99 := float64(c.MaxP99) / float64(time.Millisecond)
	lagWarn := float64(r.Config.LagWarn) / float64(time.Millisecond)
	cpus := float64(max(r.Client.CPUs, 1))
	switch {
	case r.Errors.ClientLimited():
		st.Held, st.ClientLimited = false, true
		st.Reason = fmt.Sprintf("client ran out of descriptors or addresses (fd-unavail %d, addrunavail %d)",
			r.Errors.FdUnavail, r.Errors.AddrUnavail)
	case r.Config.LagWarn > 0 && r.StartLag.P99 > lagWarn:
		st.Held, st.ClientLimited = false, true
		st.Reason = fmt.Sprintf("client could not offer the rate: start lag p99 %.1f ms > %.1f ms", r.StartLag.P99, lagWarn)
	case c.MaxClientCPU >= 0 && r.Client.CPUUtil > c.maxCPU()*cpus:
		st.Held, st.ClientLimited = false, true
		st.Reason = fmt.Sprintf("client CPU-bound: %.0f%% of %d cores", 100*r.Client.CPUUtil/cpus, r.Client.CPUs)
	case f.ErrorRatio > c.MaxErrorRatio:
		st.Held = false
		st.Reason = fmt.Sprintf("error ratio %.4f > %.4f", f.ErrorRatio, c.MaxErrorRatio)
	case f.ResponseP99Ms > maxP99:
		st.Held = false
		st.Reason = fmt.Sprintf("p99 reply %.1f ms > %.1f ms", f.ResponseP99Ms, maxP99)
	}
	return st
}

// RunCeiling searches for the highest connection rate the server holds.
func RunCeiling(ctx context.Context, cfg CeilingConfig) (*CeilingResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	res := &CeilingResult{Config: cfg}
	once := func(rate float64) (CeilingStep, error) {
		sc := cfg.Base
		sc.Rate = rate
		sc.Conns = max(1, int(math.Round(rate*cfg.StepDuration.Seconds())))
		r, err := RunStorm(ctx, sc)
		if err != nil {
			return CeilingStep{}, fmt.Errorf("ceiling step at %g conn/s: %w", rate, err)
		}
		st := cfg.judge(r)
		res.Steps = append(res.Steps, st)
		for _, w := range r.Warnings {
			res.Warnings = appendUnique(res.Warnings, fmt.Sprintf("at %g conn/s: %s", rate, w))
		}
		if cfg.OnStep != nil {
			cfg.OnStep(st)
		}
		return st, nil
	}
	// try runs a rate, and again up to Retries times while it fails on the
	// server's side: one noisy step must not set the ceiling.
	try := func(rate float64) (CeilingStep, error) {
		st, err := once(rate)
		for i := 0; i < cfg.Retries && err == nil && !st.Held && !st.ClientLimited; i++ {
			st, err = once(rate)
		}
		return st, err
	}
	rate := cfg.StartRate
	for rate <= cfg.MaxRate {
		st, err := try(rate)
		if err != nil {
			return res, err
		}
		if !st.Held {
			res.FirstFailed = rate
			if st.ClientLimited {
				res.Warnings = append(res.Warnings, fmt.Sprintf(
					"search stopped at %g conn/s by a client limit: the server's ceiling is at least %g, not measured", rate, res.HighestHeld))
				return res, nil
			}
			break
		}
		res.HighestHeld = rate
		if cfg.Factor > 1 {
			rate *= cfg.Factor
		} else {
			rate += cfg.Step
		}
	}
	lo, hi := res.HighestHeld, res.FirstFailed
	for i := 0; i < cfg.Refine && hi > 0 && hi-lo > 1; i++ {
		mid := math.Round((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		st, err := try(mid)
		if err != nil {
			return res, err
		}
		if st.Held {
			lo = mid
			res.HighestHeld = mid
		} else {
			hi = mid
			res.FirstFailed = mid
			if st.ClientLimited {
				break
			}
		}
	}
	return res, nil
}

func appendUnique(xs []string, s string) []string {
	for _, x := range xs {
		if x == s {
			return xs
		}
	}
	return append(xs, s)
}
