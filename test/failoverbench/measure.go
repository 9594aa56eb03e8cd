package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hachat/hachat/test/probe"

	"github.com/hachat/hachat/test/vrrp/vrrplab"
)

// result is one measured cycle.
type result struct {
	impl     string
	interval time.Duration
	cycle    vrrplab.Cycle
}

// measure runs the repetitions reps in one lab, a cycle of each scenario per
// repetition, interleaved so that drift in the machine's load affects every
// scenario alike.
func measure(ctx context.Context, o options, impl vrrplab.Impl, iv time.Duration, reps repRange, log io.Writer) ([]result, error) {
	lab, topo, err := newLab(ctx, o)
	if err != nil {
		return nil, err
	}
	defer lab.Close()
	defer topo.Close()
	pair := vrrplab.NewPair(ctx, topo, impl, impl, iv, true)
	defer pair.StopAll(3 * time.Second)
	if o.vmac {
		if err := pair.UseVMAC(); err != nil {
			return nil, err
		}
	}

	pr, err := topo.StartProbe(ctx)
	if err != nil {
		return nil, err
	}
	defer pr.Stop()
	// lb2 first, as a backup that becomes master alone; then lb1 preempts.
	if err := pair.Start2(); err != nil {
		return nil, err
	}
	if err := pair.Start1(); err != nil {
		return nil, err
	}
	startCtx, cancel := context.WithTimeout(ctx, 30*time.Second+10*iv)
	err = pair.Steady(startCtx, pr)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("initial election: %w", err)
	}
	hold := 2*iv + 200*time.Millisecond
	var out []result
	for rep := reps.first; rep <= reps.last; rep++ {
		for _, k := range o.scenarios {
			skipped := pr.Snapshot().Skipped
			cctx, cancel := context.WithTimeout(ctx, 30*time.Second+20*iv)
			c, err := pair.Cycle(cctx, pr, k, hold)
			cancel()
			if err != nil {
				tail(log, pr.Snapshot(), 8)
				return out, fmt.Errorf("rep %d: %w", rep, err)
			}
			out = append(out, result{impl: impl.Name(), interval: iv, cycle: c})
			fmt.Fprintf(log, "%-10s %6v %-9s rep %2d: failover %-40s takeover %5v | failback %-30s lb1 back %v | %d probes skipped\n",
				impl.Name(), iv, k, rep, c.Failover, c.Takeover.Round(time.Millisecond), c.Failback, c.Returned.Round(time.Millisecond),
				pr.Snapshot().Skipped-skipped)
		}
	}
	s := pr.Snapshot()
	if s.Skipped > 0 {
		fmt.Fprintf(log, "note: %d probes skipped because every probe worker was busy\n", s.Skipped)
	}
	return out, nil
}

// soak runs a pair with nothing failing and counts false failovers: any
// moment lb2 holds the VIP (netlink, every 5 ms) and any failed probe.
func soak(ctx context.Context, o options, impl vrrplab.Impl, out io.Writer) error {
	lab, topo, err := newLab(ctx, o)
	if err != nil {
		return err
	}
	defer lab.Close()
	defer topo.Close()
	pair := vrrplab.NewPair(ctx, topo, impl, impl, o.interval, true)
	defer pair.StopAll(3 * time.Second)
	if o.vmac {
		if err := pair.UseVMAC(); err != nil {
			return err
		}
	}
	pr, err := topo.StartProbe(ctx)
	if err != nil {
		return err
	}
	if err := pair.Start2(); err != nil {
		return err
	}
	if err := pair.Start1(); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = pair.Steady(sctx, pr)
	cancel()
	if err != nil {
		return fmt.Errorf("initial election: %w", err)
	}
	start := pr.Mark("soak")
	end := time.NewTimer(o.idle)
	defer end.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	var lb2 vipWatch // lb2 holding the VIP: a false failover
	var lb1 vipWatch // lb1 without the VIP: the master dropped it
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-end.C:
			break loop
		case <-tick.C:
			has2, err := topo.LB2.HasAddr(topo.VIP.Addr())
			if err != nil {
				return err
			}
			lb2.sample(has2)
			has1, err := topo.LB1.HasAddr(topo.VIP.Addr())
			if err != nil {
				return err
			}
			lb1.sample(!has1)
		}
	}
	s := pr.Stop().Window(start, time.Time{})
	gaps := s.Gaps()
	stalled := 0
	for _, g := range gaps {
		if g.MaxSpacing > probe.StallThreshold {
			stalled++
		}
	}
	fmt.Fprintf(out, "soak %s advert %v for %v: false failovers (lb2 took the VIP): %d (%d samples of 5 ms); lb1 lost the VIP: %d times (%d samples)\n",
		impl.Name(), o.interval, time.Since(start).Round(time.Second), lb2.episodes, lb2.samples, lb1.episodes, lb1.samples)
	fmt.Fprintf(out, "  client: %d probes (%d skipped), %d failed in %d gaps, %d of them during a client stall; longest: %v; answers %v\n",
		len(s.Results), s.Skipped, s.Failed(), len(gaps), stalled, s.Outage(), s.Responders())
	return nil
}

// vipWatch counts samples and episodes (runs of samples) of a condition.
type vipWatch struct {
	samples, episodes int
	prev              bool
}

func (w *vipWatch) sample(on bool) {
	if on {
		w.samples++
		if !w.prev {
			w.episodes++
		}
	}
	w.prev = on
}

// outages extracts one scenario's failover or failback outages, the failed
// probes, and how many of the gaps were measured by a stalled client.
func outages(rs []result, impl string, iv time.Duration, k vrrplab.Kind, failback bool) (ds []time.Duration, lost, stalls int) {
	for _, r := range rs {
		if r.impl != impl || r.interval != iv || (k != "" && r.cycle.Kind != k) {
			continue
		}
		g := r.cycle.Failover
		if failback {
			g = r.cycle.Failback
		}
		ds = append(ds, g.Duration())
		lost += g.Failed
		if g.MaxSpacing > probe.StallThreshold {
			stalls++
		}
	}
	return ds, lost, stalls
}

// tail prints the last n probe results, to show what the client saw when a
// cycle failed.
func tail(w io.Writer, s probe.Series, n int) {
	rs := s.Results[max(0, len(s.Results)-n):]
	for _, r := range rs {
		fmt.Fprintf(w, "  probe %s ok=%v %v %s %s %s\n", r.Start.Format("15:04:05.000"), r.OK, r.Latency.Round(time.Microsecond), r.Responder, r.Reason, r.Err)
	}
	fmt.Fprintf(w, "  %d probes, %d failed, %d skipped, responders %v\n", len(s.Results), s.Failed(), s.Skipped, s.Responders())
}
