package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/hachat/hachat/chatload"
)

// Machine describes where the figures were measured.
type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Kernel   string `json:"kernel"`
	Go       string `json:"go"`
	Commit   string `json:"commit,omitempty"`
	LoadAvg  string `json:"loadavg_at_start"`
	// LoadAvgEnd is read when the run ends: with LoadAvg it says how busy
	// the (possibly shared) machine was while the figures were taken.
	LoadAvgEnd string `json:"loadavg_at_end,omitempty"`
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}

func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	m.LoadAvg = loadAvg()
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(out))
	}
	return m
}

// Report is one lab run: what ran, where, what came out.
type Report struct {
	Started    time.Time      `json:"started"`
	Finished   time.Time      `json:"finished"`
	Plan       Plan           `json:"plan"`
	Machine    Machine        `json:"machine"`
	KernelIPVS bool           `json:"kernel_ipvs"`
	DataPlane  string         `json:"dataplane"`
	Namespaces string         `json:"namespaces"`
	DB         string         `json:"db"` // database tier: mariadb or galera
	Table1     *Table1Result  `json:"table1,omitempty"`
	Failovers  []*ScenarioRun `json:"failovers,omitempty"`
	Error      string         `json:"error,omitempty"`
	Problems   []string       `json:"problems,omitempty"`
	Findings   []string       `json:"findings,omitempty"`
	CPU        *CPUReport     `json:"cpu_budgets,omitempty"`
	Plots      []string       `json:"plots,omitempty"`
	// Planes holds every data plane of a -dataplane list (planes.go); the
	// fields above are the first one's.
	Planes []*PlaneRun `json:"planes,omitempty"`
	Dir    string      `json:"-"`
}

// judge collects every problem of the run; any makes the lab fail.
func (r *Report) judge() []string {
	var ps []string
	if r.Error != "" {
		ps = append(ps, "run aborted: "+r.Error)
	}
	if r.DataPlane == "" && r.Error == "" {
		ps = append(ps, "the balancer's data plane is unknown")
	}
	if t := r.Table1; t != nil {
		for _, s := range []*chatload.Series{t.Direct, t.VIP} {
			// The lowest load is far below any ceiling: failures there
			// mean the system is broken, not loaded.
			if s != nil && len(s.Points) > 0 && s.Points[0].Median.ErrorRatio > 0.05 {
				p := s.Points[0]
				ps = append(ps, fmt.Sprintf("table 1, %s: %.1f %% of connections failed at %d-%g/s",
					s.Label, 100*p.Median.ErrorRatio, p.Conns, p.Rate))
			}
		}
	}
	r.Findings = nil
	for _, f := range r.Failovers {
		for _, p := range f.Problems {
			ps = append(ps, fmt.Sprintf("%s (rep %d): %s", f.Scenario, f.Rep, p))
		}
		for _, p := range f.Findings {
			r.Findings = append(r.Findings, fmt.Sprintf("%s (rep %d): %s", f.Scenario, f.Rep, p))
		}
	}
	return append(ps, r.judgePlanes()...)
}

// Write puts report.md, results.json and the plots in r.Dir.
func (r *Report) Write() error {
	plots := filepath.Join(r.Dir, "plots")
	var perr []string
	if t := r.Table1; t != nil {
		var ss []*chatload.Series
		for _, s := range []*chatload.Series{t.Direct, t.VIP} {
			if s != nil && len(s.Points) > 0 {
				ss = append(ss, s)
			}
		}
		if len(ss) > 0 {
			fs, err := chatload.PlotSeries(plots, ss...)
			r.Plots = append(r.Plots, fs...)
			if err != nil {
				perr = append(perr, err.Error())
			}
		}
		for name, c := range map[string]*chatload.CeilingResult{"ceiling-direct": t.CeilDirect, "ceiling-vip": t.CeilVIP} {
			if c != nil && len(c.Steps) > 0 {
				fs, err := chatload.PlotCeiling(filepath.Join(plots, name), c)
				r.Plots = append(r.Plots, fs...)
				if err != nil {
					perr = append(perr, err.Error())
				}
			}
		}
	}
	if len(r.Failovers) > 0 {
		fs, err := plotProbes(plots, r.Failovers)
		r.Plots = append(r.Plots, fs...)
		if err != nil {
			perr = append(perr, err.Error())
		}
	}
	if len(perr) > 0 {
		r.Problems = append(r.Problems, "plots: "+strings.Join(perr, "; "))
	}
	for i, p := range r.Plots {
		if rel, err := filepath.Rel(r.Dir, p); err == nil {
			r.Plots[i] = rel
		}
	}
	var md bytes.Buffer
	r.WriteMarkdown(&md)
	if err := os.WriteFile(filepath.Join(r.Dir, "report.md"), md.Bytes(), 0o644); err != nil {
		return err
	}
	return chatload.WriteFile(filepath.Join(r.Dir, "results.json"), func(w io.Writer) error { return chatload.WriteJSON(w, r) })
}

func pct(x float64) string { return fmt.Sprintf("%.2f %%", 100*x) }

// WriteMarkdown renders the report.
func (r *Report) WriteMarkdown(w io.Writer) {
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	mode := "full"
	if r.Plan.Quick {
		mode = "quick (-quick: reduced series, one repetition, each failover once)"
	}
	f("# The paper in a box: lab report\n\n")
	f("Run %s → %s (%s), mode: %s.\n\n", r.Started.UTC().Format(time.RFC3339), r.Finished.UTC().Format(time.RFC3339),
		r.Finished.Sub(r.Started).Round(time.Second), mode)
	if len(r.Problems) == 0 {
		f("**Result: all checks passed.**\n\n")
	} else {
		f("**Result: %d problems; the lab failed.**\n\n", len(r.Problems))
		for _, p := range r.Problems {
			f("- %s\n", p)
		}
		f("\n")
	}
	if len(r.Findings) > 0 {
		f("Findings (shown, not failing the run):\n\n")
		for _, p := range r.Findings {
			f("- %s\n", p)
		}
		f("\n")
	}
	m := r.Machine
	f("## Where\n\n| | |\n|---|---|\n")
	f("| machine | %d CPUs (%s); load average (1, 5, 15 min) at start %s, at end %s |\n", m.CPUs, m.CPUModel, m.LoadAvg, orUnknown(m.LoadAvgEnd))
	f("| kernel | %s (IPVS in the kernel: %v) |\n", m.Kernel, yesNo(r.KernelIPVS))
	f("| balancer data plane | **%s** %s |\n", orUnknown(r.DataPlane), r.planesNote())
	f("| software | %s, commit %s |\n", m.Go, orUnknown(m.Commit))
	f("%s", r.CPU.row())
	f("| namespaces | %s-{client,lb1,lb2,app1,app2,db,sw} (removed at exit) |\n\n", orUnknown(r.Namespaces))
	f("Topology (NAT mode, the paper's keepalived/LVS setup): client 198.18.1.10 → VIP %s held by the VRRP master "+
		"(lb1 priority 150, lb2 100, 1 s adverts, preemption) → chat servers app1 198.18.2.21 and app2 198.18.2.22 "+
		"(chatd, scheduler mh, health check /readyz), whose default route is the back-side VIP 198.18.2.254, so "+
		"replies return through the balancer; both use MariaDB on db 198.18.2.30. \"Without load balancing\" "+
		"means the client talks to app1 directly. The machine is shared and small: every figure below is as "+
		"noisy as the load averages above suggest.\n\n", vipAddr)

	r.writePlanes(w)
	r.writeTable1(w)
	r.writeFailovers(w)
	r.writeDBTrials(w)
	r.writeOtherPlanes(w)
	if len(r.Plots) > 0 {
		f("## Plots\n\n")
		for _, p := range r.Plots {
			if strings.HasSuffix(p, ".png") {
				f("![%s](%s)\n\n", filepath.Base(p), p)
			}
		}
	}
	f("Raw data: `results.json`; daemon logs: `logs/`.\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func (r *Report) writeTable1(w io.Writer) {
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	t := r.Table1
	f("## Experiment 1: the paper's Table 1\n\n")
	if t == nil {
		f("Not run.\n\n")
		return
	}
	f("%s\n\n", t.Description)
	f("Ours: median over the repetitions (min–max); errors are failed connections, median per run. " +
		"The paper's figures are httperf's against its chat web application (one run each, as published).\n\n")
	f("| load | response [ms] paper, direct | **ours, direct** | paper, balanced | **ours, VIP** | throughput [KB/s] paper, direct | **ours, direct** | paper, balanced | **ours, VIP** | errors direct / VIP |\n")
	f("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, p := range paperTable1 {
		d, v := findPoint(t.Direct, p.Conns, p.Rate), findPoint(t.VIP, p.Conns, p.Rate)
		pd, pdk := "Error", "Error"
		if p.DirectValid {
			pd, pdk = fmt.Sprintf("%g", p.DirectMs), fmt.Sprintf("%g", p.DirectKBps)
		}
		f("| %d-%g/s | %s | %s | %g | %s | %s | %s | %g | %s | %s / %s |\n", p.Conns, p.Rate,
			pd, respCell(d), p.LBMs, respCell(v), pdk, kbCell(d), p.LBKBps, kbCell(v), errCell(d), errCell(v))
	}
	// Points we ran that the paper did not.
	for _, s := range []*chatload.Series{t.Direct, t.VIP} {
		if s == nil {
			continue
		}
		for _, p := range s.Points {
			if !inPaper(p.Conns, p.Rate) {
				f("\n(extra point %d-%g/s in %s: see the detail table below)\n", p.Conns, p.Rate, s.Label)
			}
		}
	}
	f("\nHow to read it: the paper's single server failed above 3000 connections and its response time jumped " +
		"to 1145 ms at 3000-300/s; its balanced setup stayed near 5 ms. Throughput grows with the offered rate in both, " +
		"because Net I/O is bytes per second of a run whose length is fixed by conns/rate: it measures the load " +
		"offered, not a capacity. The ceiling search below measures capacity.\n\n")
	f("### Detail per point (direct = the paper's \"without load balancing\", VIP = \"with\")\n\n")
	for _, s := range []*chatload.Series{t.Direct, t.VIP} {
		if s != nil {
			s.WriteMarkdown(w)
			f("\n")
		}
	}
	f("### Past the paper: the ceiling of each setup\n\n")
	f("The offered rate rises step by step; a step holds while at most 1 %% of connections fail and the p99 response "+
		"time stays under 1 s. A step where the load generator itself fell behind its schedule (start lag p99 over %v: "+
		"it shares the machine with the servers) is client-limited: the search stops there and the server's ceiling is "+
		"only known to be at least the last rate held.\n\n", ceilingLagWarn)
	for _, c := range []struct {
		label string
		c     *chatload.CeilingResult
	}{{"one chat server, direct", t.CeilDirect}, {"two chat servers behind the VIP", t.CeilVIP}} {
		if c.c == nil {
			f("%s: not run.\n\n", c.label)
			continue
		}
		f("**%s**: highest rate held %g conn/s", c.label, c.c.HighestHeld)
		if c.c.FirstFailed > 0 {
			f(" (first failed: %g conn/s)", c.c.FirstFailed)
		} else {
			f(" (the search's maximum held)")
		}
		f(".\n\n")
		c.c.WriteMarkdown(w)
		f("\n")
	}
}

func inPaper(conns int, rate float64) bool {
	for _, p := range paperTable1 {
		if p.Conns == conns && p.Rate == rate {
			return true
		}
	}
	return false
}

func findPoint(s *chatload.Series, conns int, rate float64) *chatload.SeriesPoint {
	if s == nil {
		return nil
	}
	for i := range s.Points {
		if s.Points[i].Conns == conns && s.Points[i].Rate == rate {
			return &s.Points[i]
		}
	}
	return nil
}

func respCell(p *chatload.SeriesPoint) string {
	if p == nil {
		return "not run"
	}
	if p.Reps == 1 {
		return fmt.Sprintf("%.2f", p.Median.ResponseMs)
	}
	return fmt.Sprintf("%.2f (%.2f–%.2f)", p.Median.ResponseMs, p.Min.ResponseMs, p.Max.ResponseMs)
}

func kbCell(p *chatload.SeriesPoint) string {
	if p == nil {
		return "not run"
	}
	if p.Reps == 1 {
		return fmt.Sprintf("%.1f", p.Median.ThroughputKBps)
	}
	return fmt.Sprintf("%.1f (%.1f–%.1f)", p.Median.ThroughputKBps, p.Min.ThroughputKBps, p.Max.ThroughputKBps)
}

func errCell(p *chatload.SeriesPoint) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f", p.Median.Errors)
}

func (r *Report) writeFailovers(w io.Writer) {
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f("## Experiment 2: the paper's §3.2, fault tolerance\n\n")
	if len(r.Failovers) == 0 {
		f("Not run.\n\n")
		return
	}
	fp := r.Plan.Failover
	f("Each trial runs a steady chat load through the VIP (%d channels of %d members, %d senders, %g messages/s in "+
		"total, %v) and injects the fault %v into it. Meanwhile a prober in the client opens a new TCP connection to "+
		"%s every %v (timeout %v): an outage is a stretch of failed probes, from the first failure to the next success. "+
		"Sessions kept are established chat sessions that never broke; messages missing are messages the server "+
		"accepted that some channel member never received, live or through CHATHISTORY after reconnecting (must be 0).\n\n",
		fp.Channels, fp.Members, fp.Senders, fp.Rate, fp.Duration, fp.Cue, vipChat, fp.ProbeInterval, fp.ProbeTimeout)
	f("| trial | paper | VIP taken over after [s] | outage for new connections: total / longest [s] | sessions kept | messages accepted / missing | availability over the %v window | paper's uptime with our downtime | problems and findings |\n", fp.Duration)
	f("|---|---|---:|---:|---:|---:|---:|---:|---|\n")
	for _, s := range r.Failovers {
		ps := paperScenarios[s.Scenario]
		paper := ps.Availability
		if paper == "" {
			paper = "not in the paper"
		}
		if ps.DowntimeS > 0 {
			paper = fmt.Sprintf("%g s down, %g s up: %s", ps.DowntimeS, ps.UptimeS, ps.Availability)
		}
		moved := "–"
		switch {
		case s.NewHolder != "" && s.VIPMovedS < 0:
			moved = "never"
		case s.NewHolder != "":
			moved = fmt.Sprintf("%.2f (%s)", s.VIPMovedS, s.NewHolder)
		}
		style := "–"
		if s.PaperStyle > 0 {
			style = fmt.Sprintf("%.0f/(%.0f+%.2f) = %s", ps.UptimeS, ps.UptimeS, s.DowntimeS, pct(s.PaperStyle))
		}
		probs := "none"
		if l := append(append([]string(nil), s.Problems...), s.Findings...); len(l) > 0 {
			probs = strings.Join(l, "; ")
		}
		f("| %s #%d | %s | %s | %.3f / %.3f | %d / %d | %d / %d | %s | %s | %s |\n", s.Scenario, s.Rep, paper, moved,
			s.DowntimeS, s.LongestS, s.Kept, s.Sessions, s.Chat.Accepted, s.Chat.Missing, pct(s.Availability), style, probs)
	}
	f("\n### Availability, computed correctly\n\n")
	f("The paper's equation (1) reads MTBF = MTTR / (MTTR + MTTR). As printed it is always 1/2, and it names the " +
		"result MTBF, which is a time, not a ratio. Its numbers were in fact computed as uptime / (uptime + downtime): " +
		"129 / (129 + 2) = 98.47 %% and 65 / (65 + 2) = 97.01 %%. That is the steady-state availability " +
		"A = MTBF / (MTBF + MTTR), and it is what we report: \"availability over the window\" is " +
		"(window − downtime) / window for the trial's message window, with downtime the probe outages in it; the next " +
		"column puts our downtime into the paper's own uptime, to compare like with like. Note that both depend on " +
		"how long one chooses to watch before the fault: a figure like 98.4 %% says more about the 129 s of watching " +
		"than about the balancer; the outage in seconds is the figure that carries over.\n\n")
	f("### Detail per trial (chatload)\n\n")
	for _, s := range r.Failovers {
		f("#### %s #%d\n\n", s.Scenario, s.Rep)
		if len(s.Outages) > 0 {
			f("Outages (seconds from the start of the prober):")
			for _, o := range s.Outages {
				end := "not restored"
				if o.Restored {
					end = fmt.Sprintf("%.3f", o.End.Seconds())
				}
				f(" %.3f → %s;", o.Start.Seconds(), end)
			}
			f("\n\n")
		}
		if s.Chat.Steady != nil { // chatload's renderer needs the steady part
			s.Chat.WriteMarkdown(w)
		}
		f("\n")
	}
}
