package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hachat/hachat/chatload"
)

// labRun is one run of the lab: the results directory, the binaries, and
// the report every data plane adds to.
type labRun struct {
	o       *options
	log     io.Writer
	dir     string
	binDir  string
	cleanup []func()
	rep     *Report
}

func (lr *labRun) progress(s string) {
	fmt.Fprintf(lr.log, "%s %s\n", time.Now().Format("15:04:05"), s)
}

// newLabRun makes the results directory and builds the daemons unless
// -bin gave them.
func newLabRun(ctx context.Context, o *options, logw io.Writer) (*labRun, error) {
	started := time.Now()
	lr := &labRun{o: o, log: logw, dir: filepath.Join(o.out, started.UTC().Format("20060102T150405Z")), binDir: o.bin}
	if err := os.MkdirAll(filepath.Join(lr.dir, "plots"), 0o755); err != nil {
		return nil, err
	}
	lr.progress("results in " + lr.dir)
	lr.rep = &Report{Started: started, Plan: o.plan, Machine: machineInfo(), KernelIPVS: KernelHasIPVS(), Dir: lr.dir, DB: o.db}
	if lr.binDir == "" {
		tmp, err := os.MkdirTemp("", "lab-bin")
		if err != nil {
			return nil, err
		}
		lr.cleanup = append(lr.cleanup, func() { os.RemoveAll(tmp) })
		lr.progress("building vrrpd, vrrpctl, chatd")
		if err := buildBinaries(ctx, tmp); err != nil {
			lr.close()
			return nil, err
		}
		lr.binDir = tmp
	}
	return lr, nil
}

func (lr *labRun) close() {
	for _, f := range lr.cleanup {
		f()
	}
}

// step is one stage of a data plane's run; the stages run in order and
// the first error ends the plane (the next plane still runs).
type step struct {
	name string
	on   bool
	do   func(ctx context.Context) error
}

// runPlane brings up a topology with the plane's balancers, runs the
// experiments on it and tears it down (also on error and Ctrl-C).
func (lr *labRun) runPlane(ctx context.Context, i int, plane string) *PlaneRun {
	o := lr.o
	started := time.Now()
	pr := &PlaneRun{Plane: plane, Table1Plan: o.plan.Table1}
	if isVMPlane(plane) {
		pr.Table1Plan = vmTable1(pr.Table1Plan, o.plan.Quick && !o.seriesSet)
	}
	// The database tier's trial belongs to the first plane: the VM planes
	// after it compare balancers on the paper's one database server, which
	// also keeps them within CI's time (a Galera tier boots three nodes).
	db := o.db
	if i > 0 && isVMPlane(plane) {
		db = dbMariaDB
	}
	pr.DB = db
	topo := &Topology{Bin: lr.binDir, log: lr.log, MachineCPU: o.machineCPU, DBKind: db, Dataplane: plane, SyncRefresh: o.syncRefresh}
	defer func() {
		lr.progress("tearing down: stopping daemons, removing namespaces " + labName(topo) + "-*")
		if err := topo.Close(); err != nil {
			fmt.Fprintf(lr.log, "lab: teardown: %v\n", err)
		}
		pr.Seconds = time.Since(started).Seconds()
	}()
	steps := []step{
		{"bringing up the topology", true, func(ctx context.Context) error {
			if err := Up(ctx, topo, filepath.Join(lr.dir, logsDir(i, plane))); err != nil {
				return fmt.Errorf("bring-up: %w", err)
			}
			pr.Namespaces = topo.Lab.Name()
			dp, err := topo.DataPlane(ctx, "lb1")
			pr.DataPlane = dp
			lr.progress(fmt.Sprintf("up: lb1 holds the VIP %s, chat answers on %s, data plane %s (host kernel IPVS: %v)", vipAddr, vipChat, dp, lr.rep.KernelIPVS))
			return err
		}},
		{"comparing direct, split and VIP", o.compare != "" && i == 0, func(ctx context.Context) error {
			pts, err := chatload.ParseSeries(o.compare)
			if err != nil || len(pts) != 1 {
				return fmt.Errorf("-compare-paths %q: want one conns:rate (%v)", o.compare, err)
			}
			_, err = ComparePaths(ctx, topo, pts[0], o.compareReps, o.plan.Table1.Pause, lr.dir, lr.progress)
			return err
		}},
		{"comparing ceilings of direct and VIP", o.compareCeil > 0 && i == 0, func(ctx context.Context) error {
			_, err := CompareCeilings(ctx, topo, o.plan.Table1, o.compareCeil, lr.dir, lr.progress)
			return err
		}},
		{"experiment 1 (Table 1)", !o.skip1 && len(pr.Table1Plan.Points) > 0, func(ctx context.Context) error {
			var err error
			pr.Table1, err = RunTable1(ctx, topo, pr.Table1Plan, lr.progress)
			return err
		}},
		{"experiment 2 (§3.2 trials)", !o.skip2, func(ctx context.Context) error {
			var err error
			pr.Failovers, err = RunFailovers(ctx, topo, o.plan.Failover, lr.progress)
			return err
		}},
	}
	for _, s := range steps {
		if !s.on {
			continue
		}
		lr.progress(planeName(plane) + ": " + s.name)
		if err := s.do(ctx); err != nil {
			pr.Error = err.Error()
			break
		}
	}
	pr.CPU = topo.CPUReport()
	return pr
}

// logsDir is where a plane's daemons log: logs/ for a namespace plane
// that comes first (where a single-plane run always put them),
// logs/<plane>/ otherwise.
func logsDir(i int, plane string) string {
	if i == 0 && (plane == dataplaneAuto || plane == dataplaneNft) {
		return "logs"
	}
	return filepath.Join("logs", plane)
}

func planeName(p string) string {
	if p == dataplaneAuto {
		return "namespaces"
	}
	return p
}

// finish writes the report and turns its judgement into the exit status.
func (lr *labRun) finish(ctx context.Context, planes []*PlaneRun) error {
	rep := lr.rep
	rep.adopt(planes)
	if ctx.Err() != nil {
		rep.Error = "interrupted: " + rep.Error
	}
	rep.Finished = time.Now()
	rep.Machine.LoadAvgEnd = loadAvg()
	rep.Problems = rep.judge()
	err := rep.Write()
	lr.progress("report: " + filepath.Join(lr.dir, "report.md"))
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range planes {
		if p.Error != "" {
			errs = append(errs, fmt.Errorf("%s: %s", planeName(p.Plane), p.Error))
		}
	}
	if err := errors.Join(append(errs, ctx.Err())...); err != nil {
		return err // exit 2: the run could not be completed
	}
	if len(rep.Problems) > 0 {
		for _, p := range rep.Problems {
			fmt.Fprintln(lr.log, "lab: FAIL:", p)
		}
		return fmt.Errorf("%w: %d problems (see %s)", errMisbehaved, len(rep.Problems), filepath.Join(lr.dir, "report.md"))
	}
	lr.progress("all checks passed")
	return nil
}
