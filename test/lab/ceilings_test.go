package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestCeilingsReportRatio checks what ceilings.md says: each search's
// ceiling with the machine's load and throttling, the median (min–max) per
// setup, the VIP/direct ratio of the medians and of each repetition, and
// that a client-limited search is marked as a lower bound.
func TestCeilingsReportRatio(t *testing.T) {
	runs := []CeilingRun{
		{Setup: "direct", Rep: 0, Ceiling: 200, FirstFailed: 250, Why: "error ratio", LoadAvg: [2]string{"1.0", "2.0"},
			Throttled: map[string]int64{"app1": 30, "app2": 0}},
		{Setup: "vip", Rep: 0, Ceiling: 450, FirstFailed: 500, Why: "p99", LoadAvg: [2]string{"2.0", "2.5"}},
		{Setup: "vip", Rep: 1, Ceiling: 400, FirstFailed: 450, Why: "lag", ClientLimited: true},
		{Setup: "direct", Rep: 1, Ceiling: 250},
	}
	var b bytes.Buffer
	writeCeilings(&b, &Topology{}, Table1Plan{CeilStart: 100, CeilFactor: 1.5, CeilStep: 8 * time.Second, CeilRefine: 2}, runs)
	md := b.String()
	for _, want := range []string{
		"| 1 | direct | 200 | 250 | error ratio | 1.0 → 2.0 | app1 30 |",
		"| 2 | vip | 400 | 450 | lag (client-limited: the ceiling is a lower bound) |",
		"| 2 | direct | 250 | – |",
		"- **direct**: median 225 conn/s (200–250, 2 searches)",
		"- **vip**: median 425 conn/s (400–450, 2 searches)",
		"- **VIP / direct**: 1.89x (ratio of the medians); per repetition 2.25x, 1.60x",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("ceilings.md lacks %q:\n%s", want, md)
		}
	}
}
