package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseMachineCPU: a default for the server machines, per-machine
// overrides, the client budgeted only by name, 0 meaning unlimited.
func TestParseMachineCPU(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]float64
		str  string
	}{
		{"", map[string]float64{}, "none (every machine shares the whole box)"},
		{"0.4", map[string]float64{"lb1": 0.4, "lb2": 0.4, "app1": 0.4, "app2": 0.4, "db": 0.4}, "lb1 0.4, lb2 0.4, app1 0.4, app2 0.4, db 0.4 CPU"},
		{"0.4,db=0,client=1", map[string]float64{"lb1": 0.4, "lb2": 0.4, "app1": 0.4, "app2": 0.4, "client": 1}, "lb1 0.4, lb2 0.4, app1 0.4, app2 0.4, client 1 CPU"},
		{"app1=0.5", map[string]float64{"app1": 0.5}, "app1 0.5 CPU"},
	} {
		m, err := parseMachineCPU(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if d := cmp.Diff(tc.want, m.Budgets()); d != "" {
			t.Errorf("%q budgets (-want +got):\n%s", tc.in, d)
		}
		if m.String() != tc.str {
			t.Errorf("%q: String %q, want %q", tc.in, m.String(), tc.str)
		}
	}
	for _, bad := range []string{"x", "-1", "0.4,0.5", "0.4,web=1", "100", "0.4,db="} {
		if _, err := parseMachineCPU(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
