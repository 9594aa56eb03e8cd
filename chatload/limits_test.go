package chatload

import (
	"strings"
	"testing"
	"time"
)

func TestParsePortRange(t *testing.T) {
	lo, hi, err := parsePortRange("32768\t60999\n")
	if err != nil || lo != 32768 || hi != 60999 {
		t.Errorf("got %d %d %v", lo, hi, err)
	}
	for _, bad := range []string{"", "1", "a b", "60999 32768", "0 10", "1 70000"} {
		if _, _, err := parsePortRange(bad); err == nil {
			t.Errorf("parsePortRange(%q) accepted", bad)
		}
	}
}

func TestPortsNeeded(t *testing.T) {
	tests := []struct {
		conns int
		rate  float64
		pairs int
		want  int
	}{
		{conns: 5000, rate: 500, pairs: 1, want: 5000},     // all within one TIME_WAIT minute
		{conns: 100000, rate: 1000, pairs: 1, want: 60000}, // capped by what 60 s can hold
		{conns: 100000, rate: 1000, pairs: 4, want: 15000}, // four source addresses share it
		{conns: 10, rate: 0, pairs: 0, want: 10},           // no rate, no pairs: plain count
		{conns: 7, rate: 1000, pairs: 2, want: 4},          // rounds up
	}
	for _, tt := range tests {
		if got := portsNeeded(tt.conns, tt.rate, tt.pairs); got != tt.want {
			t.Errorf("portsNeeded(%d, %g, %d) = %d, want %d", tt.conns, tt.rate, tt.pairs, got, tt.want)
		}
	}
}

func TestPreflightWarnsAboutPortsAndDescriptors(t *testing.T) {
	cs, warns := preflight(10_000_000, 1e6, 1, 0, true)
	if cs.FDSoft == 0 {
		t.Fatal("no descriptor limit read")
	}
	joined := strings.Join(warns, "\n")
	if !strings.Contains(joined, "open-file limit") {
		t.Errorf("no descriptor warning for 10M connections: %q", warns)
	}
	if cs.PortRangeHigh > 0 && !strings.Contains(joined, "ephemeral ports") {
		t.Errorf("no port warning for 10M connections at 1M/s: %q", warns)
	}
	if _, warns := preflight(10, 10, 1, 0, true); len(warns) != 0 {
		t.Errorf("warnings for a tiny run: %q", warns)
	}
}

func TestPostflightWarnings(t *testing.T) {
	cs := ClientStats{CPUs: 2, FDSoft: 1000}
	u, s := cpuTimes()
	// Pretend 10 s of CPU went by in 1 s of wall time: CPU-bound.
	lag := Summary{Count: 10, P99: 80, Max: 90}
	errs := ErrorCounts{Total: 1, FdUnavail: 1}
	cs.MaxConcurrent = 990
	warns := strings.Join(postflight(&cs, u-10*time.Second, s, time.Second, "connection starts", lag, 50*time.Millisecond, errs), "\n")
	for _, want := range []string{"CPU-bound", "lagged their schedule", "reached the open-file limit", "meaningless"} {
		if !strings.Contains(warns, want) {
			t.Errorf("warnings lack %q:\n%s", want, warns)
		}
	}
	if cs.CPUUtil < 9 {
		t.Errorf("CPUUtil = %v, want about 10", cs.CPUUtil)
	}
	cs = ClientStats{CPUs: 2, FDSoft: 1000}
	if w := postflight(&cs, u, s, time.Hour, "message sends", Summary{Count: 1, P99: 1}, 50*time.Millisecond, ErrorCounts{}); len(w) != 0 {
		t.Errorf("warnings for a healthy run: %q", w)
	}
}

func TestAutoLoopbackSources(t *testing.T) {
	tests := []struct {
		name    string
		servers []string
		conns   int
		rate    float64
		want    int
	}{
		{"small run needs none", []string{"127.0.0.1:6667"}, 5000, 500, 0},
		// 100000 connections at 2000/s: 100000 in TIME_WAIT's minute, over
		// 80% of 28232 ports = 22585 per source: 5 sources.
		{"big loopback run spreads", []string{"127.0.0.1:6667"}, 100000, 2000, 5},
		{"two servers share the need", []string{"127.0.0.1:1", "127.0.0.1:2"}, 100000, 2000, 3},
		{"remote server is left alone", []string{"198.18.0.10:6667"}, 100000, 2000, 0},
		{"names are left alone", []string{"localhost:6667"}, 100000, 2000, 0},
		{"capped", []string{"127.0.0.1:6667"}, 1 << 30, 1e9, maxAutoSources},
	}
	for _, tt := range tests {
		got := autoLoopbackSources(tt.servers, tt.conns, tt.rate, 32768, 60999)
		if len(got) != tt.want {
			t.Errorf("%s: %d sources, want %d", tt.name, len(got), tt.want)
			continue
		}
		if len(got) > 0 && (got[0].String() != "127.0.0.2" || !got[len(got)-1].IsLoopback()) {
			t.Errorf("%s: sources %v..%v", tt.name, got[0], got[len(got)-1])
		}
	}
}
