package ipvs

import (
	"slices"
	"testing"
)

// TestHealthIDLabels: the health checker's per-target metrics carry the
// service and the real server as labels of their own, read back from the
// target ID the balancer builds.
func TestHealthIDLabels(t *testing.T) {
	for _, tc := range []struct {
		svc, rs string
	}{
		{"tcp/198.18.1.100:6667", "198.18.2.21:6667"},
		{"fwmark/5", "198.18.2.22"},
	} {
		if got := splitHealthID(healthID(tc.svc, tc.rs)); !slices.Equal(got, []string{tc.svc, tc.rs}) {
			t.Errorf("labels of %q = %q, want %q %q", healthID(tc.svc, tc.rs), got, tc.svc, tc.rs)
		}
	}
	if got := splitHealthID("odd"); !slices.Equal(got, []string{"odd", ""}) {
		t.Errorf("labels of an ID of another shape = %q", got)
	}
}
