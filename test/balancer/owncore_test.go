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

	"github.com/hachat/hachat/test/cpusoak"
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
// A soaker (test/cpusoak) on CPU 1 measures the time the balancer takes
// from it, against the direct run of the same round, which leaves the
// balancer idle; divided by the connections served, that is the balancer's
// CPU per connection, and its inverse the connection rate one balancer core
// sustains.

const balancerCPU, restCPU = 1, 0

type coreRun struct {
	rate float64 // end-to-end connections/s
	soak float64 // the soaker's count per second on the balancer core
	wall time.Duration
	ipis float64 // inter-processor interrupts the balancer core took
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
	soak, err := cpusoak.Start(balancerCPU)
	if err != nil {
		b.Fatal(err)
	}
	defer soak.Stop()

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
		{"nftables DR", vip + ":8090"},
		{"haproxy tcp", haproxyAddr + ":8080"},
	}
	runs := map[string][]coreRun{}
	for r := range rounds {
		for _, tg := range targets {
			s0, i0 := soak.Read(), ipis(b, balancerCPU)
			var stopPerf func()
			if dir := os.Getenv("LBBENCH_PERF"); dir != "" && r == 0 {
				stopPerf = perfRecord(b, balancerCPU, filepath.Join(dir, strings.Fields(tg.name)[0]+".data"))
			}
			rate, errs := l.load("conn", tg.addr, workers, d)
			if stopPerf != nil {
				stopPerf()
			}
			s1, i1 := soak.Read(), ipis(b, balancerCPU)
			if errs > 0 {
				b.Logf("own core, round %d %s: %d connection errors", r+1, tg.name, errs)
			}
			runs[tg.name] = append(runs[tg.name], coreRun{rate: rate, soak: cpusoak.Rate(s0, s1), wall: s1.At.Sub(s0.At), ipis: float64(i1 - i0)})
		}
	}

	// µs of balancer CPU per connection, round by round: the soaker's
	// rate in the direct run of the same round is the balancer core with
	// nothing to balance.
	cost := func(name string) []float64 {
		var out []float64
		for i, run := range runs[name] {
			idle := runs["direct (app1)"][i].soak
			busy := max(1-run.soak/idle, 0) * run.wall.Seconds()
			out = append(out, busy*1e6/(run.rate*d.Seconds()))
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
			var busy, ipi []float64
			for i, run := range runs[tg.name] {
				busy = append(busy, 100*max(1-run.soak/runs["direct (app1)"][i].soak, 0))
				ipi = append(ipi, run.ipis/(run.rate*d.Seconds()))
			}
			line += fmt.Sprintf(" %12.1f [%4.1f-%4.1f] %14.0f   (core %.0f%% busy, %.1f IPIs per conn)", median(c), slices.Min(c), slices.Max(c), 1e6/median(c), median(busy), median(ipi))
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
	if dr := median(cost("nftables DR")); dr > 0 {
		fmt.Fprintf(sb, "connections per balancer core, ours in DR mode / haproxy: %.2f× of medians\n", median(hap)/dr)
	}
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

// ipis counts the inter-processor interrupts (function call and reschedule)
// cpu has taken: RPS hands every packet to the balancer core with one when
// the core's backlog is empty, and in a VM each costs a few µs.
func ipis(b *testing.B, cpu int) int {
	data, err := os.ReadFile("/proc/interrupts")
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > cpu+1 && (f[0] == "CAL:" || f[0] == "RES:") {
			var c int
			if _, err := fmt.Sscan(f[cpu+1], &c); err != nil {
				b.Fatalf("/proc/interrupts: %q: %v", line, err)
			}
			n += c
		}
	}
	return n
}
