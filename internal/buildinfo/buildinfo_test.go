package buildinfo

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// The metric follows the *_build_info convention: one series, value 1, the
// version and Go release as labels.
func TestCollectorBuildInfoConvention(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(Collector("vrrpd"))
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(fams) != 1 || fams[0].GetName() != "vrrpd_build_info" || len(fams[0].GetMetric()) != 1 {
		t.Fatalf("want one vrrpd_build_info series, got %v", fams)
	}
	m := fams[0].GetMetric()[0]
	labels := map[string]string{}
	for _, l := range m.GetLabel() {
		labels[l.GetName()] = l.GetValue()
	}
	want := map[string]string{"version": Version(), "goversion": runtime.Version()}
	if len(labels) != len(want) || labels["version"] != want["version"] || labels["goversion"] != want["goversion"] {
		t.Errorf("labels %v, want %v", labels, want)
	}
	if v := m.GetGauge().GetValue(); v != 1 {
		t.Errorf("value %v, want 1", v)
	}
}

// The linker flag the Makefile and build.sh pass is the one that sets it: a
// renamed variable would otherwise leave every binary saying "dev" silently.
func TestLinkerFlagSetsVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a binary: skipped in -short mode")
	}
	bin := filepath.Join(t.TempDir(), "x")
	cmd := exec.Command("go", "build", "-o", bin, "-ldflags", "-X github.com/hachat/hachat/internal/buildinfo.version=9.8.7~test", "./testdata/printversion")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "x 9.8.7~test (" + runtime.Version() + ")"; string(out) != want {
		t.Errorf("got %q, want %q", out, want)
	}
}
