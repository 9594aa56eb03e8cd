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

// options are the command line, parsed.
type options struct {
	plan              Plan
	out, bin, compare string
	compareReps       int
	compareCeil       int // -compare-ceilings: ceiling searches direct and via the VIP, interleaved
	skip1, skip2      bool
	seriesSet         bool // -series given: the VM planes keep its points up to 200/s even when quick
	machineCPU        MachineCPU
	planes            []string
	syncRefresh       time.Duration
	db                string
}

func parseArgs(args []string, logw io.Writer) (*options, error) {
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
	dataplane := fs.String("dataplane", "", "the balancers, as a `list` run in turn into one report: nft (namespaces, vrrpd on nftables), ipvs-vm (QEMU VMs on Debian's kernel, vrrpd on kernel IPVS; slow: TCG), keepalived-vm (the same VMs running Debian's keepalived with LVS, the paper's software); VM planes run a reduced Table 1; default: namespaces, vrrpd's dataplane auto")
	syncRefresh := fs.Duration("lvs-sync-refresh", time.Second, "on the VMs, the IPVS sync daemon re-sends a connection with traffic at most this often (sync_threshold \"3 0\", sync_refresh_period); 0 keeps the kernel's every-50-packets rule (test/lab/lvssync.go)")
	db := fs.String("db", defaultDB(), "database `tier`: galera (three MariaDB Galera nodes and the trial \"database writer killed\"; "+
		"the default when galera-4 is installed) or mariadb (one server, the paper's setup)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o := &options{out: *out, bin: *bin, compare: *compare, compareReps: *compareReps, compareCeil: *compareCeil, skip1: *skip1, skip2: *skip2,
		syncRefresh: *syncRefresh, db: *db, plan: fullPlan()}
	if *quick {
		o.plan = quickPlan()
	}
	if *reps > 0 {
		o.plan.Table1.Reps = *reps
	}
	if *series != "" {
		pts, err := chatload.ParseSeries(*series)
		if err != nil {
			return nil, err
		}
		o.plan.Table1.Points, o.seriesSet = pts, true
	}
	if *foReps > 0 {
		o.plan.Failover.Reps = *foReps
	}
	if *noCeil {
		o.plan.Table1.CeilMax = 0
	}
	if *ceilStart > 0 {
		o.plan.Table1.CeilStart = *ceilStart
	}
	var err error
	if o.machineCPU, err = parseMachineCPU(*machineCPU); err != nil {
		return nil, err
	}
	if o.planes, err = parsePlanes(*dataplane); err != nil {
		return nil, err
	}
	return o, dbKindOK(*db)
}

func run(ctx context.Context, args []string, logw io.Writer) error {
	o, err := parseArgs(args, logw)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("needs root (network namespaces, nftables, MariaDB): run sudo make lab")
	}
	lr, err := newLabRun(ctx, o, logw)
	if err != nil {
		return err
	}
	defer lr.close()
	var planes []*PlaneRun
	for i, p := range o.planes {
		planes = append(planes, lr.runPlane(ctx, i, p))
		if ctx.Err() != nil {
			break
		}
	}
	return lr.finish(ctx, planes)
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
