package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// series is one figure of one server over the repetitions.
type series []float64

// spread renders the median with the range: "1.23 (1.10-1.40)".
func (s series) spread(format string) string {
	if len(s) == 0 {
		return "-"
	}
	m := s.median()
	if len(s) == 1 {
		return fmt.Sprintf(format, m)
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", m, slices.Min(s), slices.Max(s))
}

func (s series) median() float64 {
	v := slices.Clone(s)
	slices.Sort(v)
	n := len(v)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// metric is one row of the report.
type metric struct {
	name   string
	format string
	// lowerIsBetter picks the best reference: the lowest value, or for a
	// rate, the highest.
	lowerIsBetter bool
	by            map[string]series
}

type results struct {
	servers []string
	rows    []*metric
	index   map[string]*metric
	loads   series
	// cpuStorm is the storm CPU per registration is taken from: the
	// largest, where the 10 ms tick rounds least.
	cpuStorm stormSpec
}

func newResults(o options) *results {
	r := &results{index: map[string]*metric{}}
	for _, k := range o.servers {
		r.servers = append(r.servers, k.name)
	}
	for _, sp := range o.storms {
		r.row(sp.String()+": register p99 ms", "%.2f", true)
		if sp.conns > r.cpuStorm.conns {
			r.cpuStorm = sp
		}
	}
	r.row(cpuRow, "%.0f", true)
	if len(o.rates) > 0 {
		r.row("highest clean storm rate /s", "%.0f", false)
	}
	if o.hold > 0 {
		r.row(fmt.Sprintf("memory per idle client (%d held), KiB", o.hold), "%.1f", true)
	}
	return r
}

func (r *results) row(name, format string, lower bool) *metric {
	m := &metric{name: name, format: format, lowerIsBetter: lower, by: map[string]series{}}
	r.rows = append(r.rows, m)
	r.index[name] = m
	return m
}

func (r *results) add(row, server string, v float64) {
	m := r.index[row]
	m.by[server] = append(m.by[server], v)
}

const cpuRow = "server CPU per registration, µs"

// addStorm records one storm.
func (r *results) addStorm(sp stormSpec, server string, o stormOutcome) {
	r.add(sp.String()+": register p99 ms", server, o.RegisterP99)
	if sp == r.cpuStorm {
		r.add(cpuRow, server, o.CPUPerReg)
	}
	r.loads = append(r.loads, o.Load)
}

func (r *results) addCeiling(server string, rate float64) {
	for _, m := range r.rows {
		if strings.HasPrefix(m.name, "highest clean") {
			m.by[server] = append(m.by[server], rate)
		}
	}
}

func (r *results) addMemory(server string, perClient float64) {
	for _, m := range r.rows {
		if strings.HasPrefix(m.name, "memory per idle") {
			m.by[server] = append(m.by[server], perClient/1024)
		}
	}
}

// print writes the table: median (min-max) per server, and chatd's
// ratio to the best reference by median.
func (r *results) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "measure\t%s\tchatd / best reference\tchatd / ngircd\n", strings.Join(r.servers, "\t"))
	for _, m := range r.rows {
		cells := []string{m.name}
		for _, s := range r.servers {
			cells = append(cells, m.by[s].spread(m.format))
		}
		cells = append(cells, r.ratio(m), ratioTo(m, "ngircd"))
		fmt.Fprintln(tw, strings.Join(cells, "\t"))
	}
	tw.Flush()
	fmt.Fprintf(w, "load average (1 min) during the storms: median %s; %d cores\n", r.loads.spread("%.2f"), numCPU())
}

func (r *results) ratio(m *metric) string {
	own, ok := m.by["chatd"]
	if !ok {
		return "-"
	}
	best, bestName := 0.0, ""
	for _, s := range r.servers {
		v, ok := m.by[s]
		if isChatd(s) || !ok {
			continue
		}
		med := v.median()
		if bestName == "" || (m.lowerIsBetter && med < best) || (!m.lowerIsBetter && med > best) {
			best, bestName = med, s
		}
	}
	if bestName == "" || best == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx %s", own.median()/best, bestName)
}

// ratioTo is chatd's median over ref's.
func ratioTo(m *metric, ref string) string {
	own, ok1 := m.by["chatd"]
	other, ok2 := m.by[ref]
	if !ok1 || !ok2 || other.median() == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", own.median()/other.median())
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "\nprocessor") + 1
}

// profile takes a CPU profile of chatd over a storm from its pprof
// endpoint, when a profile directory is given; the returned func waits for
// it to be written.
func profile(s *server, dir string, sp stormSpec, stderr io.Writer) (wait func()) {
	if dir == "" || s.http == "" {
		return func() {}
	}
	secs := int(float64(sp.conns)/sp.rate) + 1
	done := make(chan struct{})
	go func() {
		defer close(done)
		c := http.Client{Timeout: time.Duration(secs+30) * time.Second}
		resp, err := c.Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.http, secs))
		if err != nil {
			fmt.Fprintln(stderr, "regbench: profile:", err)
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			name := filepath.Join(dir, fmt.Sprintf("chatd-%d-at-%g-%s.pprof", sp.conns, sp.rate, time.Now().Format("150405")))
			err = os.WriteFile(name, b, 0o644)
			fmt.Fprintln(stderr, "regbench: profile in", name)
		}
		if err != nil {
			fmt.Fprintln(stderr, "regbench: profile:", err)
		}
	}()
	return func() { <-done }
}
