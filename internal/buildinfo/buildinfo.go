// Package buildinfo is the version every binary prints with --version and the
// daemons export as <daemon>_build_info. The Makefile and packaging/build.sh
// set it at link time:
//
//	go build -ldflags "-X github.com/hachat/hachat/internal/buildinfo.version=1.2.3"
//
// Without that, a build from a git checkout reports the module version Go
// derives from version control, and anything else "dev".
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/prometheus/client_golang/prometheus"
)

// version is set by the linker; one variable for every binary, so no main
// package can be forgotten.
var version string

// Version is the version of this build.
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// String is the --version line: "vrrpd 1.2.3 (go1.26.0)".
func String(program string) string {
	return fmt.Sprintf("%s %s (%s)", program, Version(), runtime.Version())
}

// Collector is the Prometheus gauge <prefix>_build_info, always 1, whose
// labels say what is running (the convention of prometheus_build_info).
func Collector(prefix string) prometheus.Collector {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        prefix + "_build_info",
		Help:        "Always 1; the labels are the version of this build and the Go release that built it.",
		ConstLabels: prometheus.Labels{"version": Version(), "goversion": runtime.Version()},
	})
	g.Set(1)
	return g
}
