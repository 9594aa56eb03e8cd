package main

// What the bench reads about a process and the server: RSS, CPU, load
// average and the server's own metrics.

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// rssBytes reads VmRSS of a process.
func rssBytes(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// loadAvg is the 1-minute load average: on a shared machine it says how
// much of the CPU the benchmark really had.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Fields(string(b))[0]
}

// cpuSeconds is a process's user+system CPU time (/proc/PID/stat fields 14, 15).
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

// stages are the server's cumulative latency histograms (sums and counts).
type stages struct{ appendSum, appendN, lagSum, lagN float64 }

func stageTimes(httpAddr string) stages {
	return stages{
		appendSum: metric(httpAddr, "chatd_append_seconds_sum"), appendN: metric(httpAddr, "chatd_append_seconds_count"),
		lagSum: metric(httpAddr, "chatd_tail_lag_seconds_sum"), lagN: metric(httpAddr, "chatd_tail_lag_seconds_count"),
	}
}

func (a stages) minus(b stages) stages {
	return stages{a.appendSum - b.appendSum, a.appendN - b.appendN, a.lagSum - b.lagSum, a.lagN - b.lagN}
}

func (a stages) appendMean() string { return meanMS(a.appendSum, a.appendN) }
func (a stages) lagMean() string    { return meanMS(a.lagSum, a.lagN) }

func meanMS(sum, n float64) string {
	if n == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f ms", sum/n*1000)
}

// metric reads one unlabelled sample from a Prometheus text endpoint.
func metric(httpAddr, name string) float64 {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// metricLines returns the sample lines of a metric family, e.g. to print
// disconnect reasons.
func metricLines(httpAddr, prefix string) []string {
	resp, err := http.Get("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var out []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), prefix) {
			out = append(out, sc.Text())
		}
	}
	return out
}
