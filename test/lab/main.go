// Command lab rebuilds the paper's system in network namespaces and runs
// its experiments: `sudo make lab` (or `go run ./test/lab`), and
// `make lab QUICK=1` for the reduced run CI uses.
//
// Topology (all in namespaces this run creates, addresses from the
// RFC 2544 benchmarking range 198.18.0.0/15; see docs/lab.md):
//
//	client 198.18.1.10 (+ .2.10 to reach app1 directly)
//	  |  switch: a bridge in its own namespace
//	lb1 198.18.1.11 prio 150 / lb2 198.18.1.12 prio 100: vrrpd, VIP 198.18.1.100 and gateway 198.18.2.254
//	app1 198.18.2.21 / app2 198.18.2.22: chatd, default route via 198.18.2.254 (NAT mode)
//	db 198.18.2.30: MariaDB (throwaway datadir), with -db mariadb (the paper's one server)
//	db1..db3 198.18.2.31-33: MariaDB Galera, with -db galera (the default when galera-4 is installed)
//
// Experiment 1 is the paper's Table 1 (1000 connections at 100/s ... 5000
// at 500/s, direct and through the VIP, 10 repetitions) and a ceiling
// search; experiment 2 its §3.2 (both balancers up, master stopped, master
// back, both stopped). The results go to results/<timestamp>/: report.md
// with our figures beside the paper's, results.json, plots and the daemons'
// logs. The command exits 1 when the system misbehaved (messages lost, VIP
// or service never up, sessions broken without a fault, ...), so CI
// catches rot. Everything it created is removed at exit, also on Ctrl-C
// or when a step fails.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/chatload"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C kills at once; Pdeathsig takes the daemons along
	}()
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lab:", err)
		if errors.Is(err, errMisbehaved) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

// errMisbehaved marks a run that completed but showed the system broken.
var errMisbehaved = errors.New("the system misbehaved")

// Plan is everything one run does.
type Plan struct {
	Quick    bool
	Table1   Table1Plan
	Failover FailoverPlan
}

func quickPlan() Plan {
	return Plan{Quick: true,
		Table1: Table1Plan{
			Points: []chatload.LoadPoint{{Conns: 1000, Rate: 100}, {Conns: 2000, Rate: 200}},
			Reps:   1, Pause: 2 * time.Second,
			CeilStart: 400, CeilFactor: 2, CeilMax: 1600, CeilStep: 3 * time.Second,
		},
		Failover: FailoverPlan{Reps: 1, Duration: 15 * time.Second, Cue: 5 * time.Second, Drain: 5 * time.Second,
			Channels: 4, Members: 8, Senders: 4, Rate: 20,
			ProbeInterval: 20 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond},
	}
}

func fullPlan() Plan {
	return Plan{
		Table1: Table1Plan{
			Points: []chatload.LoadPoint{{Conns: 1000, Rate: 100}, {Conns: 2000, Rate: 200}, {Conns: 3000, Rate: 300},
				{Conns: 4000, Rate: 400}, {Conns: 5000, Rate: 500}},
			Reps: 10, Pause: 2 * time.Second,
			CeilStart: 250, CeilFactor: 1.5, CeilMax: 8000, CeilStep: 8 * time.Second, CeilRefine: 2,
		},
		Failover: FailoverPlan{Reps: 3, Duration: 40 * time.Second, Cue: 15 * time.Second, Drain: 10 * time.Second,
			Channels: 10, Members: 10, Senders: 10, Rate: 50,
			ProbeInterval: 20 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond},
	}
}

func run(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet("lab", flag.ContinueOnError)
	fs.SetOutput(logw)
	quick := fs.Bool("quick", false, "reduced run for CI (< 5 minutes): 1000:100 and 2000:200 once, short ceiling, each failover once")
	out := fs.String("out", "results", "parent `directory` of the results/<timestamp>/ folder")
	bin := fs.String("bin", "", "`directory` with prebuilt vrrpd, vrrpctl and chatd (default: go build them)")
	reps := fs.Int("reps", 0, "Table 1 repetitions per point (default 10, quick 1)")
	series := fs.String("series", "", "Table 1 points as conns:rate,... (default the paper's 1000:100..5000:500)")
	foReps := fs.Int("failover-reps", 0, "repetitions of the failover scenarios (default 3, quick 1)")
	skip1 := fs.Bool("skip-table1", false, "skip experiment 1")
	skip2 := fs.Bool("skip-failover", false, "skip experiment 2")
	noCeil := fs.Bool("no-ceiling", false, "skip the ceiling search")
	machineCPU := fs.String("machine-cpu", "", "CPU budget per lab machine, as `cpus[,machine=cpus...]`: 0.4 gives lb1, lb2, app1, app2 and db 0.4 CPU each (cgroup v1 cpu quota); add client=F to budget the load generator, db=0 to leave one unlimited (default: none, all share the box)")
	compare := fs.String("compare-paths", "", "before the experiments, compare direct, split (both servers directly) and VIP at one point `conns:rate` (e.g. 3000:300), interleaved, into compare.md")
	compareReps := fs.Int("compare-reps", 5, "repetitions of -compare-paths")
	compareCeil := fs.Int("compare-ceilings", 0, "before the experiments, run the ceiling search `N` times against app1 directly and against the VIP, interleaved, into ceilings.md (ratio VIP/direct; use with -machine-cpu)")
	ceilStart := fs.Float64("ceiling-start", 0, "first rate of the ceiling searches in `conn/s` (default 250, quick 400)")
	dataplane := fs.String("dataplane", "", "`ipvs-vm`: lb1 and lb2 as QEMU VMs with Debian's kernel and vrrpd on kernel IPVS, TAP NICs on the lab's bridge (slow: TCG); keepalived-vm: the same VMs running Debian's keepalived (VRRP + LVS), the paper's software; default: namespaces, vrrpd's dataplane auto")
	db := fs.String("db", defaultDB(), "database `tier`: galera (three MariaDB Galera nodes and the trial \"database writer killed\"; "+
		"the default when galera-4 is installed) or mariadb (one server, the paper's setup)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, nftables, MariaDB): run sudo make lab")
	}
	if err := dbKindOK(*db); err != nil {
		return err
	}
	plan := fullPlan()
	if *quick {
		plan = quickPlan()
	}
	if *reps > 0 {
		plan.Table1.Reps = *reps
	}
	if *series != "" {
		pts, err := chatload.ParseSeries(*series)
		if err != nil {
			return err
		}
		plan.Table1.Points = pts
	}
	if *foReps > 0 {
		plan.Failover.Reps = *foReps
	}
	if *noCeil {
		plan.Table1.CeilMax = 0
	}
	if *ceilStart > 0 {
		plan.Table1.CeilStart = *ceilStart
	}
	mcpu, cerr := parseMachineCPU(*machineCPU)
	if cerr != nil {
		return cerr
	}
	if *dataplane != "" && *dataplane != dataplaneVM && *dataplane != dataplaneKeepalivedVM {
		return fmt.Errorf("-dataplane %q: want %s or %s (or nothing)", *dataplane, dataplaneVM, dataplaneKeepalivedVM)
	}

	started := time.Now()
	dir := filepath.Join(*out, started.UTC().Format("20060102T150405Z"))
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return err
	}
	progress := func(s string) { fmt.Fprintf(logw, "%s %s\n", time.Now().Format("15:04:05"), s) }
	progress("results in " + dir)

	binDir := *bin
	if binDir == "" {
		tmp, err := os.MkdirTemp("", "lab-bin")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		progress("building vrrpd, vrrpctl, chatd")
		if err := buildBinaries(ctx, tmp); err != nil {
			return err
		}
		binDir = tmp
	}

	rep := &Report{Started: started, Plan: plan, Machine: machineInfo(), KernelIPVS: KernelHasIPVS(), Dir: dir, DB: *db}
	topo := &Topology{Bin: binDir, log: logw, MachineCPU: mcpu, DBKind: *db, Dataplane: *dataplane}
	// The deferred teardown runs on success, on error and after Ctrl-C
	// (ctx cancelled: every step returns, then this runs).
	defer func() {
		progress("tearing down: stopping daemons, removing namespaces " + labName(topo) + "-*")
		if err := topo.Close(); err != nil {
			fmt.Fprintf(logw, "lab: teardown: %v\n", err)
		}
	}()

	err := func() error {
		progress("bringing up the topology")
		if err := Up(ctx, topo, filepath.Join(dir, "logs")); err != nil {
			return fmt.Errorf("bring-up: %w", err)
		}
		rep.Namespaces = topo.Lab.Name()
		dp, err := topo.DataPlane(ctx, "lb1")
		if err != nil {
			return err
		}
		rep.DataPlane = dp
		if *compare != "" {
			pts, err := chatload.ParseSeries(*compare)
			if err != nil || len(pts) != 1 {
				return fmt.Errorf("-compare-paths %q: want one conns:rate (%v)", *compare, err)
			}
			if _, err := ComparePaths(ctx, topo, pts[0], *compareReps, plan.Table1.Pause, dir, progress); err != nil {
				return err
			}
		}
		if *compareCeil > 0 {
			if _, err := CompareCeilings(ctx, topo, plan.Table1, *compareCeil, dir, progress); err != nil {
				return err
			}
		}
		progress(fmt.Sprintf("up: lb1 holds the VIP %s, chat answers on %s, data plane %s (kernel IPVS: %v)", vipAddr, vipChat, dp, rep.KernelIPVS))
		if !*skip1 {
			t1, err := RunTable1(ctx, topo, plan.Table1, progress)
			rep.Table1 = t1
			if err != nil {
				return err
			}
		}
		if !*skip2 {
			runs, err := RunFailovers(ctx, topo, plan.Failover, progress)
			rep.Failovers = runs
			if err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		rep.Error = err.Error()
	}
	if ctx.Err() != nil {
		rep.Error = "interrupted: " + rep.Error
	}
	rep.Finished = time.Now()
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.CPU = topo.CPUReport()
	rep.Problems = rep.judge()
	if werr := rep.Write(); werr != nil {
		err = errors.Join(err, werr)
	}
	progress("report: " + filepath.Join(dir, "report.md"))
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		for _, p := range rep.Problems {
			fmt.Fprintln(logw, "lab: FAIL:", p)
		}
		return fmt.Errorf("%w: %d problems (see %s)", errMisbehaved, len(rep.Problems), filepath.Join(dir, "report.md"))
	}
	progress("all checks passed")
	return nil
}

func labName(t *Topology) string {
	if t.Lab == nil {
		return "lab-<none>"
	}
	return t.Lab.Name()
}

// buildBinaries builds the daemons once, from the module that holds this
// command.
func buildBinaries(ctx context.Context, dir string) error {
	root, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return fmt.Errorf("go list -m: %w (run from the repository)", err)
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/vrrpd", "./cmd/vrrpctl", "./cmd/chatd")
	cmd.Dir = strings.TrimSpace(string(root))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	return nil
}
