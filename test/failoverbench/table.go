package main

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/hachat/hachat/test/probe"
	"github.com/hachat/hachat/test/vrrp/vrrplab"
)

// quantile is the nearest-rank q-quantile of sorted ds.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return sorted[i]
}

type stats struct {
	n                 int
	median, p95, maxD time.Duration
	lost              int // failed probes in all reps
	stalls            int // gaps whose client was starved of CPU (imprecise)
}

func summarize(ds []time.Duration, lost, stalls int) stats {
	s := slices.Clone(ds)
	slices.Sort(s)
	st := stats{n: len(s), lost: lost, stalls: stalls}
	if len(s) > 0 {
		st.median, st.p95, st.maxD = quantile(s, 0.5), quantile(s, 0.95), s[len(s)-1]
	}
	return st
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/float64(time.Millisecond)) }

// ratios are the rows comparing two implementations' medians.
var ratios = []struct{ label, num, den string }{
	{"ratio", "vrrpd", "keepalived"},
	{"b/a", "vrrpd-b", "vrrpd"},
}

// printTable prints one row per interval × scenario × implementation and a
// row per interval × scenario for each pair in ratios that both ran.
func printTable(w io.Writer, o options, rs []result) {
	fmt.Fprintf(w, "\nclient outage (ms), TCP probe every 5 ms; failback = lb1 returns and preempts;\n")
	fmt.Fprintf(w, "stalls = outages during which the client started no probe for over %v (CPU starvation: edges imprecise)\n", probe.StallThreshold)
	fmt.Fprintf(w, "%-8s %-20s %-10s %4s %8s %8s %8s %12s %7s\n", "advert", "scenario", "impl", "n", "median", "p95", "max", "lost probes", "stalls")
	type row struct {
		label    string
		kind     vrrplab.Kind
		failback bool
	}
	var rows []row
	for _, k := range o.scenarios {
		rows = append(rows, row{string(k), k, false})
	}
	for _, k := range o.scenarios {
		rows = append(rows, row{"failback/" + string(k), k, true})
	}
	for _, iv := range o.intervals {
		for _, r := range rows {
			med := map[string]time.Duration{}
			for _, impl := range o.impls {
				st := summarize(outages(rs, impl, iv, r.kind, r.failback))
				if st.n == 0 {
					continue
				}
				med[impl] = st.median
				fmt.Fprintf(w, "%-8v %-20s %-10s %4d %8s %8s %8s %12d %7d\n", iv, r.label, impl, st.n, ms(st.median), ms(st.p95), ms(st.maxD), st.lost, st.stalls)
			}
			for _, q := range ratios {
				num, ok1 := med[q.num]
				den, ok2 := med[q.den]
				if ok1 && ok2 && den > 0 {
					fmt.Fprintf(w, "%-8v %-20s %-10s %4s %8.2f\n", iv, r.label, q.label, "", float64(num)/float64(den))
				}
			}
		}
	}
}
