package chatload

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// MarkdownReport is a result that renders itself as Markdown.
type MarkdownReport interface {
	WriteMarkdown(w io.Writer) error
}

// WriteMarkdown renders r as Markdown tables.
func WriteMarkdown(w io.Writer, r MarkdownReport) error { return r.WriteMarkdown(w) }

// WriteJSON writes v as indented JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// WriteFile writes a report to path with fn, reporting the path on error.
func WriteFile(path string, fn func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return nil
}

// ew collects the first write error, so the renderers stay readable.
type ew struct {
	w   io.Writer
	err error
}

func (e *ew) f(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}

// summaryRow renders one distribution; an empty one (no JOINs asked for,
// no cross-node pairs) renders as nothing rather than a row of zeros.
func summaryRow(name string, s Summary) string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("| %s | %d | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n",
		name, s.Count, s.Min, s.Avg, s.Max, s.Median, s.Stddev, s.P90, s.P99, s.P999)
}

const summaryHeader = "| figure [ms] | count | min | avg | max | median | stddev | p90 | p99 | p99.9 |\n" +
	"|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"

func writeErrors(e *ew, errs ErrorCounts) {
	e.f("| total |")
	for _, c := range AllClasses {
		e.f(" %s |", c)
	}
	e.f("\n|---:|")
	for range AllClasses {
		e.f("---:|")
	}
	e.f("\n| %d |", errs.Total)
	for _, c := range AllClasses {
		e.f(" %d |", errs.Get(c))
	}
	e.f("\n")
}

func writeWarnings(e *ew, warns []string) {
	if len(warns) == 0 {
		return
	}
	e.f("\n**Warnings**\n\n")
	for _, w := range warns {
		e.f("- %s\n", w)
	}
}

// WriteMarkdown renders a storm with httperf's figures.
func (r *StormResult) WriteMarkdown(w io.Writer) error {
	e := &ew{w: w}
	c := r.Config
	e.f("## chatload storm: %d connections at %g conn/s → %s\n\n", c.Conns, c.Rate, strings.Join(c.Servers, ", "))
	if r.Interrupted {
		e.f("**Interrupted: partial result.**\n\n")
	}
	e.f("| figure | value |\n|---|---:|\n")
	e.f("| test duration [s] | %.3f |\n", r.DurationS)
	e.f("| connections initiated / ok / failed / aborted | %d / %d / %d / %d |\n",
		r.Connections.Initiated, r.Connections.Succeeded, r.Connections.Failed, r.Connections.Aborted)
	e.f("| connection rate [conn/s] | %.1f (%.2f ms/conn, <=%d concurrent) |\n", r.ConnRate, r.MsPerConn, r.MaxConcurrent)
	e.f("| reply rate [replies/s] min/avg/max/stddev (samples) | %.1f / %.1f / %.1f / %.1f (%d) |\n",
		r.ReplyRate.Min, r.ReplyRate.Avg, r.ReplyRate.Max, r.ReplyRate.Stddev, r.ReplyRate.Samples)
	e.f("| Net I/O [KB/s] (Mbps) | %.1f (%.3f) |\n", r.NetIO.KBPerSec, r.NetIO.Mbps)
	e.f("| bytes sent / received | %d / %d |\n", r.NetIO.SentBytes, r.NetIO.RecvBytes)
	e.f("| client CPU [%% of one core] | %.0f |\n\n", 100*r.Client.CPUUtil)
	e.f("%s", summaryHeader)
	e.f("%s", summaryRow("connection time", r.ConnectionTime))
	e.f("%s", summaryRow("connect", r.ConnectTime))
	e.f("%s", summaryRow("welcome (scheduled start → 001)", r.WelcomeTime))
	e.f("%s", summaryRow("reply: all (response time)", r.Reply.All))
	e.f("%s", summaryRow("reply: register (001)", r.Reply.Register))
	e.f("%s", summaryRow("reply: join", r.Reply.Join))
	e.f("%s", summaryRow("reply: message echo", r.Reply.Message))
	e.f("%s", summaryRow("start lag (client)", r.StartLag))
	e.f("\n**Errors**\n\n")
	writeErrors(e, r.Errors)
	if len(r.ErrorsByPhase) > 0 {
		e.f("\nby phase:")
		for _, p := range []Phase{PhaseConnect, PhaseRegister, PhaseJoin, PhaseMessage, PhaseHold, PhaseQuit} {
			if n := r.ErrorsByPhase[p]; n > 0 {
				e.f(" %s %d;", p, n)
			}
		}
		e.f("\n")
	}
	writeWarnings(e, r.Warnings)
	return e.err
}

// WriteText renders a storm the way httperf prints its summary, so the
// numbers can be read side by side with httperf output.
func (r *StormResult) WriteText(w io.Writer) error {
	e := &ew{w: w}
	e.f("Total: connections %d requests %d replies %d test-duration %.3f s\n\n",
		r.Connections.Initiated, r.Reply.All.Count+r.Errors.Total, r.Reply.All.Count, r.DurationS)
	e.f("Connection rate: %.1f conn/s (%.1f ms/conn, <=%d concurrent connections)\n", r.ConnRate, r.MsPerConn, r.MaxConcurrent)
	ct := r.ConnectionTime
	e.f("Connection time [ms]: min %.1f avg %.1f max %.1f median %.1f stddev %.1f\n", ct.Min, ct.Avg, ct.Max, ct.Median, ct.Stddev)
	e.f("Connection time [ms]: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f\n", ct.P50, ct.P90, ct.P99, ct.P999)
	e.f("Connection time [ms]: connect %.1f\n", r.ConnectTime.Avg)
	wt := r.WelcomeTime
	e.f("Welcome time [ms]: scheduled start to 001 avg %.1f p50 %.1f p99 %.1f max %.1f\n\n", wt.Avg, wt.P50, wt.P99, wt.Max)
	rr := r.ReplyRate
	e.f("Reply rate [replies/s]: min %.1f avg %.1f max %.1f stddev %.1f (%d samples)\n", rr.Min, rr.Avg, rr.Max, rr.Stddev, rr.Samples)
	for _, x := range []struct {
		n string
		s Summary
	}{{"response", r.Reply.All}, {"register", r.Reply.Register}, {"join", r.Reply.Join}, {"message", r.Reply.Message}} {
		if x.s.Count == 0 {
			continue
		}
		e.f("Reply time [ms]: %s %.1f (p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f, n=%d)\n",
			x.n, x.s.Avg, x.s.P50, x.s.P90, x.s.P99, x.s.P999, x.s.Count)
	}
	e.f("\nCPU time [s]: user %.2f system %.2f (%.1f%% of one core)\n", r.Client.CPUUserS, r.Client.CPUSysS, 100*r.Client.CPUUtil)
	e.f("Net I/O: %.1f KB/s (%.1f*10^6 bps)\n\n", r.NetIO.KBPerSec, r.NetIO.Mbps)
	x := r.Errors
	e.f("Errors: total %d client-timo %d socket-timo %d connrefused %d connreset %d\n",
		x.Total, x.ClientTimo, x.SocketTimo, x.ConnRefused, x.ConnReset)
	e.f("Errors: fd-unavail %d addrunavail %d other %d\n", x.FdUnavail, x.AddrUnavail, x.Other)
	for _, s := range r.ErrorSamples {
		e.f("  e.g. %s\n", s)
	}
	for _, wn := range r.Warnings {
		e.f("warning: %s\n", wn)
	}
	return e.err
}

// WriteMarkdown renders a series as the paper's Table 1, with the spread.
func (s *Series) WriteMarkdown(w io.Writer) error {
	e := &ew{w: w}
	if s.Label != "" {
		e.f("## %s\n\n", s.Label)
	}
	e.f("| No | connections-rate | reps | response time [ms] median (min–max) | p99 [ms] | throughput [KB/s] median (min–max) | conn rate [conn/s] | errors (median) |\n")
	e.f("|---:|---|---:|---:|---:|---:|---:|---:|\n")
	for i, p := range s.Points {
		mark := ""
		if p.ClientLimited {
			mark = " (client-limited)"
		}
		e.f("| %d | %d-%g/s%s | %d | %.2f (%.2f–%.2f) | %.2f | %.1f (%.1f–%.1f) | %.1f | %.0f |\n",
			i+1, p.Conns, p.Rate, mark, p.Reps,
			p.Median.ResponseMs, p.Min.ResponseMs, p.Max.ResponseMs, p.Median.ResponseP99Ms,
			p.Median.ThroughputKBps, p.Min.ThroughputKBps, p.Max.ThroughputKBps,
			p.Median.ConnRate, p.Median.Errors)
	}
	var warns []string
	for _, p := range s.Points {
		for _, wn := range p.Warnings {
			warns = appendUnique(warns, fmt.Sprintf("%d-%g/s: %s", p.Conns, p.Rate, wn))
		}
	}
	writeWarnings(e, warns)
	return e.err
}

// WriteMarkdown renders the steps of a ceiling search.
func (c *CeilingResult) WriteMarkdown(w io.Writer) error {
	e := &ew{w: w}
	e.f("## chatload ceiling: highest rate held %g conn/s\n\n", c.HighestHeld)
	e.f("Thresholds: error ratio <= %g, p99 reply <= %v, %v per step.\n\n", c.Config.MaxErrorRatio, c.Config.MaxP99, c.Config.StepDuration)
	e.f("| rate [conn/s] | conns | held | response [ms] | p99 [ms] | KB/s | error ratio | reason |\n")
	e.f("|---:|---:|---|---:|---:|---:|---:|---|\n")
	for _, s := range c.Steps {
		e.f("| %g | %d | %v | %.2f | %.2f | %.1f | %.4f | %s |\n", s.Rate, s.Conns, s.Held,
			s.Figures.ResponseMs, s.Figures.ResponseP99Ms, s.Figures.ThroughputKBps, s.Figures.ErrorRatio, s.Reason)
	}
	writeWarnings(e, c.Warnings)
	return e.err
}

// WriteMarkdown renders a steady run.
func (r *SteadyResult) WriteMarkdown(w io.Writer) error {
	e := &ew{w: w}
	c := r.Config
	e.f("## chatload steady: %d senders at %g msg/s into %d channels of %d members → %s\n\n",
		c.Senders, c.Rate, c.Channels, c.Members, strings.Join(c.Servers, ", "))
	e.f("| figure | value |\n|---|---:|\n")
	e.f("| clients joined | %d (setup %.2f s, barrier %v) |\n", r.Clients, r.SetupS, r.BarrierOK)
	e.f("| duration [s] | %.3f |\n", r.DurationS)
	e.f("| sent / skipped / send errors | %d / %d / %d |\n", r.Sent, r.Skipped, r.SendErrors)
	e.f("| offered / achieved send rate [msg/s] | %.1f / %.1f |\n", r.OfferedRate, r.SendRate)
	e.f("| delivered / expected | %d / %d |\n", r.Delivered, r.Expected)
	e.f("| lost or late (after the drain) / duplicates | %d / %d |\n", r.Lost, r.Duplicates)
	e.f("| delivered [msg/s] | %.1f |\n", r.DeliveredPerSec)
	e.f("| Net I/O [KB/s] | %.1f |\n\n", r.NetIO.KBPerSec)
	e.f("%s", summaryHeader)
	e.f("%s", summaryRow("fan-out (send → each receiver)", r.Fanout))
	if len(c.Servers) > 1 {
		e.f("%s", summaryRow("fan-out, same node", r.FanoutSameNode))
		e.f("%s", summaryRow("fan-out, across nodes", r.FanoutCrossNode))
	}
	e.f("%s", summaryRow("echo to sender", r.Echo))
	e.f("%s", summaryRow("send lag (client)", r.SendLag))
	if r.SetupErrors.Total > 0 {
		e.f("\n**Setup errors**\n\n")
		writeErrors(e, r.SetupErrors)
	}
	if r.Disconnects.Total > 0 {
		e.f("\n**Connections lost during the run**\n\n")
		writeErrors(e, r.Disconnects)
	}
	writeWarnings(e, r.Warnings)
	return e.err
}

// WriteMarkdown renders a failover run.
func (r *FailoverResult) WriteMarkdown(w io.Writer) error {
	e := &ew{w: w}
	e.f("## chatload failover: hook %q at %.2f s (took %.2f s)\n\n", r.Config.HookCommand, r.Hook.AtS, r.Hook.DurationS)
	if r.Hook.Error != "" {
		e.f("**Hook failed:** %s\n\n", r.Hook.Error)
	}
	e.f("| figure | value |\n|---|---:|\n")
	e.f("| clients affected / disconnects | %d / %d |\n", r.Affected, r.Disconnects)
	e.f("| reconnected / still down | %d / %d |\n", r.Reconnected, r.NotReconnected)
	e.f("| accepted messages | %d |\n", r.Accepted)
	e.f("| **missing** (must be 0) | **%d** |\n", r.Missing)
	e.f("| duplicates dropped by msgid / by body | %d / %d |\n", r.Duplicates, r.DuplicatesByBody)
	e.f("| recovered by CHATHISTORY | %d |\n", r.RecoveredByHistory)
	e.f("| unconfirmed (lost in flight, sender knew) | %d |\n", r.Unconfirmed)
	e.f("| resume failures / unsupported | %d / %d |\n\n", r.ResumeFailures, r.ResumeUnsupported)
	e.f("%s", summaryHeader)
	e.f("%s", summaryRow("outage per client", r.Outage))
	e.f("%s", summaryRow("detect", r.Detect))
	e.f("%s", summaryRow("reconnect (to rejoined)", r.Reconnect))
	e.f("%s", summaryRow("resume (CHATHISTORY)", r.Resume))
	e.f("%s", summaryRow("longest delivery gap per client", r.MaxGap))
	e.f("%s", summaryRow("fan-out (live)", r.Steady.Fanout))
	if r.DisconnectCauses.Total > 0 {
		e.f("\n**How connections broke**\n\n")
		writeErrors(e, r.DisconnectCauses)
	}
	if r.ReconnectErrors.Total > 0 {
		e.f("\n**Reconnect attempt errors**\n\n")
		writeErrors(e, r.ReconnectErrors)
	}
	if len(r.Outages) > 0 {
		e.f("\n**Outages, one by one**\n\n| client | at [s] | from → to | attempts | detect [ms] | reconnect [ms] | outage [ms] |\n")
		e.f("|---|---:|---|---:|---:|---:|---:|\n")
		for i, o := range r.Outages {
			if i == maxOutageRows {
				e.f("| … %d more in the JSON | | | | | | |\n", len(r.Outages)-i)
				break
			}
			to := o.ToServer
			if !o.Recovered {
				to = "(not recovered)"
			}
			e.f("| %s | %.2f | %s → %s | %d | %.1f | %.1f | %.1f |\n", o.Nick, o.AtS, o.FromServer, to, o.Attempts, o.DetectMs, o.ReconnectMs, o.OutageMs)
		}
	}
	if len(r.MissingSamples) > 0 {
		e.f("\n**Missing, for example**\n\n")
	}
	for _, s := range r.MissingSamples {
		e.f("- %s\n", s)
	}
	writeWarnings(e, r.Warnings)
	return e.err
}

// maxOutageRows keeps the Markdown readable; the JSON has them all.
const maxOutageRows = 20
