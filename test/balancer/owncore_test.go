package balancer

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// On a two-core machine the end-to-end connection rate cannot show what a
// balancer can do: the clients and servers share the cores with it, so even
// a balancer that cost nothing would reach only the direct rate, which is
// about 1.5× HAProxy's here. A balancer is a machine of its own in the
// paper's topology; the closest this machine comes is a core of its own.
// benchOwnCore gives the balancer CPU 1 and everything else CPU 0: RPS steers
// the packets lb1 and lb3 receive to CPU 1 (so our kernel NAT path and
// HAProxy's TCP stack run there), HAProxy runs one thread pinned to CPU 1,
// the load generator, servers and the backup balancer are pinned to CPU 0.
// CPU 1's busy time during a run, less what it does while the direct run
// leaves it idle, divided by the connections served, is the balancer's CPU
// per connection; its inverse is the connection rate one balancer core
// sustains.

const balancerCPU, restCPU = 1, 0

type coreRun struct {
	rate   float64 // end-to-end connections/s
	busyNs float64 // CPU 1 busy time during the run
	wallNs float64
}

func benchOwnCore(b *testing.B, l *lab, lb3 *netns.Host, rounds, workers int, d time.Duration, sb *strings.Builder) {
	steered := []struct {
		h   *netns.Host
		cpu int
	}{{l.client, restCPU}, {l.app1, restCPU}, {l.app2, restCPU}, {l.lb2, restCPU}, {l.lb1, balancerCPU}, {lb3, balancerCPU}}
	defer func() {
		for _, s := range steered {
			if err := s.h.Port("eth0").SteerRx(nil, nil); err != nil {
				b.Error(err)
			}
		}
		for _, pid := range []int{0, l.bal1.PID(), l.bal2.PID()} {
			if err := netns.Pin(pid); err != nil {
				b.Error(err)
			}
		}
		l.loadPrefix = nil
	}()
	for _, s := range steered {
		if err := s.h.Port("eth0").SteerRx([]int{s.cpu}, []int{restCPU}); err != nil {
			b.Fatal(err)
		}
	}
	for _, p := range []struct{ pid, cpu int }{{0, restCPU}, {l.bal1.PID(), balancerCPU}, {l.bal2.PID(), restCPU}} {
		if err := netns.Pin(p.pid, p.cpu); err != nil {
			b.Fatal(err)
		}
	}
	l.loadPrefix = []string{"taskset", "-c", fmt.Sprint(restCPU)}

	cfg := filepath.Join(l.lab.Dir(), "haproxy-1core.cfg")
	if err := os.WriteFile(cfg, []byte(haproxyConfig(1)), 0o644); err != nil {
		b.Fatal(err)
	}
	hp, err := lb3.Start(context.Background(), "haproxy-1core", "taskset", "-c", fmt.Sprint(balancerCPU), "haproxy", "-db", "-f", cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer hp.Stop(3 * time.Second)
	l.waitServing(haproxyAddr + ":8080")

	targets := []struct{ name, addr string }{
		{"direct (app1)", "198.18.2.21:80"},
		{"nftables (ours)", vip + ":80"},
		{"haproxy tcp", haproxyAddr + ":8080"},
	}
	runs := map[string][]coreRun{}
	for r := range rounds {
		for _, tg := range targets {
			t0, err := netns.ReadCPUTime(balancerCPU)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			var stopPerf func()
			if dir := os.Getenv("LBBENCH_PERF"); dir != "" && r == 0 {
				stopPerf = perfRecord(b, balancerCPU, filepath.Join(dir, strings.Fields(tg.name)[0]+".data"))
			}
			rate, errs := l.load("conn", tg.addr, workers, d)
			if stopPerf != nil {
				stopPerf()
			}
			wall := time.Since(start)
			t1, err := netns.ReadCPUTime(balancerCPU)
			if err != nil {
				b.Fatal(err)
			}
			if errs > 0 {
				b.Logf("own core, round %d %s: %d connection errors", r+1, tg.name, errs)
			}
			runs[tg.name] = append(runs[tg.name], coreRun{rate: rate, busyNs: float64(t1.Busy-t0.Busy) * netns.ClockTick, wallNs: float64(wall)})
		}
	}

	// µs of balancer CPU per connection, round by round: the direct run of
	// the same round is the balancer core's idle baseline.
	cost := func(name string) []float64 {
		var out []float64
		for i, run := range runs[name] {
			base := runs["direct (app1)"][i]
			busy := run.busyNs - base.busyNs/base.wallNs*run.wallNs
			out = append(out, max(busy, 0)/1e3/(run.rate*d.Seconds()))
		}
		return out
	}
	fmt.Fprintf(sb, "\nbalancer on a core of its own (CPU %d; clients, servers, backup on CPU %d), %d rounds × %v, %d clients\n", balancerCPU, restCPU, rounds, d, workers)
	fmt.Fprintf(sb, "%-18s %24s %26s %26s\n", "target", "end-to-end conn/s", "balancer µs CPU per conn", "conn/s per balancer core")
	for _, tg := range targets {
		var rates []float64
		for _, run := range runs[tg.name] {
			rates = append(rates, run.rate)
		}
		line := fmt.Sprintf("%-18s %10.0f [%5.0f-%5.0f]", tg.name, median(rates), slices.Min(rates), slices.Max(rates))
		if tg.name != "direct (app1)" {
			c := cost(tg.name)
			line += fmt.Sprintf(" %12.1f [%4.1f-%4.1f] %14.0f", median(c), slices.Min(c), slices.Max(c), 1e6/median(c))
		} else {
			var idle []float64
			for _, run := range runs[tg.name] {
				idle = append(idle, run.busyNs/run.wallNs*100)
			}
			line += fmt.Sprintf("   (balancer core %.1f%% busy: baseline)", median(idle))
		}
		fmt.Fprintln(sb, line)
	}
	ours, hap := cost("nftables (ours)"), cost("haproxy tcp")
	var paired []float64
	for i := range ours {
		if ours[i] > 0 {
			paired = append(paired, hap[i]/ours[i])
		}
	}
	if len(paired) == 0 {
		b.Fatalf("own core: no balancer CPU measured for our data plane: %+v", runs)
	}
	fmt.Fprintf(sb, "connections per balancer core, ours / haproxy: %.2f× of medians; per-round %.2f× [%.2f-%.2f] (target ≥ 1.5×)\n",
		median(hap)/median(ours), median(paired), slices.Min(paired), slices.Max(paired))
	b.ReportMetric(1e6/median(ours), "nft-conn/s/core")
	b.ReportMetric(1e6/median(hap), "haproxy-conn/s/core")
}

// perfRecord profiles one CPU, call graphs included, into path until the
// returned function is called.
func perfRecord(b *testing.B, cpu int, path string) func() {
	cmd := exec.Command("perf", "record", "-q", "-C", fmt.Sprint(cpu), "-g", "-o", path)
	if err := cmd.Start(); err != nil {
		b.Logf("perf: %v", err)
		return func() {}
	}
	return func() {
		cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			b.Logf("perf: %v", err)
		}
	}
}
