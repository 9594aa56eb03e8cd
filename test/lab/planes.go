package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/hachat/hachat/chatload"
)

// One run, several data planes (-dataplane nft,ipvs-vm,keepalived-vm):
// each plane gets a topology of its own, brought up, measured and torn
// down in turn, and one report puts them side by side. The balancers are
// what differs; the chat servers, the database and the load are the same.

// Data planes a run can compare (-dataplane).
const (
	dataplaneAuto = ""    // namespaces, vrrpd's dataplane auto (IPVS where the host kernel has it)
	dataplaneNft  = "nft" // namespaces, vrrpd's nftables data plane
)

// parsePlanes reads the -dataplane list.
func parsePlanes(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return []string{dataplaneAuto}, nil
	}
	var planes []string
	seen := map[string]bool{}
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch p {
		case dataplaneNft, dataplaneVM, dataplaneKeepalivedVM:
		default:
			return nil, fmt.Errorf("-dataplane %q: %q is not one of %s, %s, %s", s, p, dataplaneNft, dataplaneVM, dataplaneKeepalivedVM)
		}
		if seen[p] {
			return nil, fmt.Errorf("-dataplane %q: %s twice", s, p)
		}
		seen[p] = true
		planes = append(planes, p)
	}
	return planes, nil
}

// isVMPlane reports whether the plane runs its balancers as QEMU VMs.
func isVMPlane(p string) bool { return p == dataplaneVM || p == dataplaneKeepalivedVM }

// vmTable1 reduces Table 1 for balancers under TCG: every balanced packet
// crosses an emulated kernel, so only the points up to 200 conn/s (at
// least the first; only the first in a quick run without -series), at
// most 3 repetitions, no ceiling search. It is the behaviour through
// kernel IPVS that counts, not the speed.
func vmTable1(p Table1Plan, quick bool) Table1Plan {
	var pts []chatload.LoadPoint
	for _, pt := range p.Points {
		if pt.Rate <= 200 {
			pts = append(pts, pt)
		}
	}
	if (len(pts) == 0 || quick) && len(p.Points) > 0 {
		pts = p.Points[:1]
	}
	p.Points = pts
	p.Reps = min(p.Reps, 3)
	p.CeilMax = 0
	return p
}

// PlaneRun is one data plane's part of a run.
type PlaneRun struct {
	Plane      string         `json:"plane"`     // the -dataplane item ("" for auto)
	DataPlane  string         `json:"dataplane"` // what ran, as the balancer reports it
	Namespaces string         `json:"namespaces"`
	DB         string         `json:"db"` // the database tier this plane ran on
	Table1Plan Table1Plan     `json:"table1_plan"`
	Table1     *Table1Result  `json:"table1,omitempty"`
	Failovers  []*ScenarioRun `json:"failovers,omitempty"`
	CPU        *CPUReport     `json:"cpu_budgets,omitempty"`
	Error      string         `json:"error,omitempty"`
	// Seconds is the plane's wall time, bring-up and teardown included.
	Seconds float64 `json:"seconds"`
}

// label names the plane in the report.
func (p *PlaneRun) label() string {
	if p.DataPlane != "" {
		return p.DataPlane
	}
	if p.Plane == dataplaneAuto {
		return "namespaces (auto)"
	}
	return p.Plane
}

// adopt makes the first plane the report's main one (the sections every
// report has), and names all planes in the "Where" table.
func (r *Report) adopt(planes []*PlaneRun) {
	r.Planes = planes
	if len(planes) == 0 {
		return
	}
	p := planes[0]
	r.Namespaces, r.Table1, r.Failovers, r.CPU = p.Namespaces, p.Table1, p.Failovers, p.CPU
	if p.Error != "" {
		r.Error = p.Error
	}
	var names []string
	for _, q := range planes {
		if q.DataPlane == "" && q.Error == "" {
			names = nil // judge: a plane that ran without saying what it was
			break
		}
		names = append(names, q.label())
	}
	r.DataPlane = strings.Join(names, "; ")
}

// sub is the report of one further plane, for its detail sections and
// its judgement.
func (r *Report) sub(p *PlaneRun) *Report {
	s := &Report{Plan: r.Plan, DataPlane: p.DataPlane, Table1: p.Table1, Failovers: p.Failovers, Error: p.Error}
	s.Plan.Table1 = p.Table1Plan
	return s
}

// judgePlanes is judge for the planes after the first; their problems and
// findings carry the plane's name.
func (r *Report) judgePlanes() []string {
	var ps []string
	for _, p := range r.Planes[min(1, len(r.Planes)):] {
		s := r.sub(p)
		for _, x := range s.judge() {
			ps = append(ps, p.label()+": "+x)
		}
		for _, x := range s.Findings {
			r.Findings = append(r.Findings, p.label()+": "+x)
		}
	}
	return ps
}

// writePlanes puts the planes side by side: Table 1's response times and
// each trial's takeover, outage, sessions kept and messages missing.
func (r *Report) writePlanes(w io.Writer) {
	if len(r.Planes) < 2 {
		return
	}
	f := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	f("## The data planes side by side\n\n")
	f("Each data plane ran on a topology of its own, in turn, with the same chat servers, database and load. " +
		"The QEMU VMs run Debian's kernel under TCG (no KVM on this machine): every balanced packet crosses an " +
		"emulated kernel, so their Table 1 is reduced and its times show emulation, not IPVS; it is the behaviour " +
		"that counts. In the namespaces the chat service uses scheduler mh; on the VMs rr with the kernel's " +
		"connection-sync daemon following the VRRP role, the LVS way (docs/lab.md). The sections after this one are " +
		"the first plane's; the others' follow at the end.\n\n")
	var times []string
	for _, p := range r.Planes {
		times = append(times, fmt.Sprintf("%s %.0f s", p.label(), p.Seconds))
	}
	f("Wall time per plane, bring-up and teardown included: %s.\n\n", strings.Join(times, ", "))
	head := ""
	rule := "|---|"
	for _, p := range r.Planes {
		head += " " + p.label() + " |"
		rule += "---|"
	}
	f("**Table 1**, response time [ms] direct / VIP, median (errors per run, direct / VIP):\n\n| load |%s\n%s\n", head, rule)
	for _, pt := range r.Plan.Table1.Points {
		f("| %d-%g/s |", pt.Conns, pt.Rate)
		for _, p := range r.Planes {
			f(" %s |", planeT1Cell(p, pt))
		}
		f("\n")
	}
	f("\n**§3.2 trials**: VIP taken over after [s]; outage for new connections, total [s]; sessions kept; "+
		"messages missing; on the VMs, \"knew N\": the established client connections new since the trial began in "+
		"the new master's IPVS table, listed right after the takeover (the sync daemon's work; the prober's open "+
		"connections count too, so N can exceed the sessions by one or two):\n\n| trial |%s\n%s\n", head, rule)
	for _, s := range r.Planes[0].Failovers {
		f("| %s #%d |", s.Scenario, s.Rep)
		for _, p := range r.Planes {
			f(" %s |", trialCell(findTrial(p, s.Scenario, s.Rep)))
		}
		f("\n")
	}
	f("\n")
	for _, p := range r.Planes {
		if p.Error != "" {
			f("- %s did not complete: %s\n", p.label(), p.Error)
		}
	}
	f("\n")
}

// writeOtherPlanes renders the detail of every plane after the first.
func (r *Report) writeOtherPlanes(w io.Writer) {
	for _, p := range r.Planes[min(1, len(r.Planes)):] {
		fmt.Fprintf(w, "# Data plane: %s\n\n", p.label())
		fmt.Fprintf(w, "Database tier: %s. Namespaces: %s-*.\n\n", p.DB, orUnknown(p.Namespaces))
		s := r.sub(p)
		s.writeTable1(w)
		s.writeFailovers(w)
	}
}

func planeT1Cell(p *PlaneRun, pt chatload.LoadPoint) string {
	if p.Table1 == nil {
		return "not run"
	}
	d, v := findPoint(p.Table1.Direct, pt.Conns, pt.Rate), findPoint(p.Table1.VIP, pt.Conns, pt.Rate)
	if d == nil && v == nil {
		return "not run"
	}
	ms := func(x *chatload.SeriesPoint) string {
		if x == nil {
			return "–"
		}
		return fmt.Sprintf("%.2f", x.Median.ResponseMs)
	}
	return fmt.Sprintf("%s / %s (%s / %s)", ms(d), ms(v), errCell(d), errCell(v))
}

func findTrial(p *PlaneRun, scenario string, rep int) *ScenarioRun {
	for _, s := range p.Failovers {
		if s.Scenario == scenario && s.Rep == rep {
			return s
		}
	}
	return nil
}

func trialCell(s *ScenarioRun) string {
	if s == nil {
		return "not run"
	}
	moved := "–"
	switch {
	case s.NewHolder != "" && s.VIPMovedS < 0:
		moved = "never"
	case s.NewHolder != "":
		moved = fmt.Sprintf("%.2f", s.VIPMovedS)
	}
	c := fmt.Sprintf("%s; %.2f; **%d/%d**; %d", moved, s.DowntimeS, s.Kept, s.Sessions, s.Chat.Missing)
	if s.Sync != nil && s.Sync.KnownAtTakeover >= 0 {
		c += fmt.Sprintf("; knew %d", s.Sync.KnownAtTakeover)
	}
	return c
}

// vrrpdDataplane is the namespace balancers' global.dataplane: nftables
// when asked for by name (-dataplane nft), else auto.
func (t *Topology) vrrpdDataplane() string {
	if t.Dataplane == dataplaneNft {
		return "nftables"
	}
	return "auto"
}

// planesNote qualifies the report's data plane row.
func (r *Report) planesNote() string {
	switch {
	case len(r.Planes) > 1:
		return "(in turn, one topology each; side by side below)"
	case len(r.Planes) == 1 && r.Planes[0].Plane != dataplaneAuto:
		return "(`-dataplane " + r.Planes[0].Plane + "`)"
	}
	return "(vrrpd `dataplane: auto`: IPVS where the kernel has it, nftables otherwise)"
}
