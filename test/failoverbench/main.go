// Command failoverbench measures VRRP failover as a client sees it, for our
// vrrpd and for Debian's keepalived on the same namespace topology in the
// same run (see test/vrrp/vrrplab), and prints median and p95 client outage
// per implementation, advert interval and scenario, and the vrrpd/keepalived
// ratio. It needs root, iproute2 and keepalived. `make bench-failover` runs:
//
//	go run ./test/failoverbench -impl vrrpd,keepalived -intervals 100ms,1s -reps 20
//
// The soak mode counts false failovers while nothing fails:
//
//	go run ./test/failoverbench -impl vrrpd -idle 10m -interval 20ms
//
// Two vrrpd binaries side by side (a change's before and after), one lab per
// repetition, alternating A B B A so that drift in the machine's load
// affects both alike:
//
//	go run ./test/failoverbench -impl vrrpd -vrrpd before -vrrpd-b after -intervals 100ms -reps 40
//
// RFC 5798 section 6.4 sets the expectations: a lost master is replaced after
// Master_Down_Interval = 3·Advertisement_Interval + Skew_Time, a graceful one
// after Skew_Time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/vrrp/vrrplab"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "failoverbench:", err)
		os.Exit(1)
	}
}

type options struct {
	impls     []string
	intervals []time.Duration
	scenarios []vrrplab.Kind
	reps      int
	idle      time.Duration
	interval  time.Duration
	vrrpd     string
	keepalive string
	logDir    string
	nice      int
	capture   bool
	vrrpdRT   int // -1: the daemon's default
	vmac      bool
	vrrpdB    string // a second vrrpd binary, measured as "vrrpd-b"
	// interleave measures one repetition per lab, the implementations
	// taking turns, instead of all repetitions of one in a lab.
	interleave bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("failoverbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	impls := fs.String("impl", "vrrpd,keepalived", "implementations to measure: vrrpd, keepalived")
	intervals := fs.String("intervals", "100ms,1s", "advert intervals, comma separated")
	scen := fs.String("scenarios", "node-loss,graceful", "scenarios (failback is measured in each)")
	reps := fs.Int("reps", 20, "repetitions per implementation, interval and scenario")
	idle := fs.Duration("idle", 0, "soak mode: run this long with no failure and count false failovers")
	interval := fs.Duration("interval", 20*time.Millisecond, "advert interval of the soak mode")
	vrrpd := fs.String("vrrpd", "", "vrrpd binary (default: go build ./cmd/vrrpd)")
	vrrpdB := fs.String("vrrpd-b", "", "a second vrrpd binary, measured as implementation vrrpd-b beside the others (implies -interleave)")
	interleave := fs.Bool("interleave", false, "one repetition per lab, implementations taking turns (A B B A), so load drift hits all alike")
	ka := fs.String("keepalived", "/usr/sbin/keepalived", "keepalived binary")
	logDir := fs.String("logdir", "", "keep daemon logs here (default: a temporary directory, removed)")
	capture := fs.Bool("capture", false, "with -logdir: tcpdump ARP, VRRP and TCP SYN/RST on the switch into the log directory")
	vrrpdRT := fs.Int("vrrpd-rt", -1, "vrrpd global.realtime_priority (0: ordinary scheduling; -1: the daemon's default)")
	vmac := fs.Bool("vmac", false, "routers put the VIP on a virtual MAC interface (vrrpd vmac, keepalived use_vmac)")
	nice := fs.Int("nice", 0, "nice value for the whole benchmark, daemons included (e.g. -10 on a busy shared machine)")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{reps: *reps, idle: *idle, interval: *interval, vrrpd: *vrrpd, keepalive: *ka, logDir: *logDir, nice: *nice, capture: *capture, vrrpdRT: *vrrpdRT, vmac: *vmac,
		vrrpdB: *vrrpdB, interleave: *interleave || *vrrpdB != ""}
	for _, s := range strings.Split(*impls, ",") {
		switch s = strings.TrimSpace(s); s {
		case "vrrpd", "keepalived":
			o.impls = append(o.impls, s)
		default:
			return o, fmt.Errorf("-impl: unknown implementation %q (want vrrpd or keepalived)", s)
		}
	}
	if o.vrrpdB != "" {
		o.impls = append(o.impls, "vrrpd-b")
	}
	for _, s := range strings.Split(*intervals, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 10*time.Millisecond || d%(10*time.Millisecond) != 0 {
			return o, fmt.Errorf("-intervals: %q is not a multiple of 10ms (VRRPv3 counts centiseconds)", s)
		}
		o.intervals = append(o.intervals, d)
	}
	for _, s := range strings.Split(*scen, ",") {
		switch k := vrrplab.Kind(strings.TrimSpace(s)); k {
		case vrrplab.NodeLoss, vrrplab.Graceful:
			o.scenarios = append(o.scenarios, k)
		default:
			return o, fmt.Errorf("-scenarios: unknown scenario %q (want node-loss or graceful)", s)
		}
	}
	if o.capture && o.logDir == "" {
		return o, fmt.Errorf("-capture needs -logdir (where the pcap goes)")
	}
	if o.reps < 1 {
		return o, fmt.Errorf("-reps must be at least 1")
	}
	return o, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("needs root: it builds network namespaces")
	}
	if _, err := netns.SweepStale("fob"); err != nil {
		fmt.Fprintln(stderr, "warning: removing stale namespaces:", err)
	}
	impls := map[string]vrrplab.Impl{}
	for _, name := range o.impls {
		switch name {
		case "keepalived":
			if _, err := exec.LookPath(o.keepalive); err != nil {
				return fmt.Errorf("keepalived not found (apt-get install keepalived): %w", err)
			}
			impls[name] = vrrplab.Keepalived{Bin: o.keepalive}
		case "vrrpd":
			bin := o.vrrpd
			if bin == "" {
				dir, err := os.MkdirTemp("", "failoverbench-")
				if err != nil {
					return err
				}
				defer os.RemoveAll(dir)
				bin = filepath.Join(dir, "vrrpd")
				if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/hachat/hachat/cmd/vrrpd").CombinedOutput(); err != nil {
					return fmt.Errorf("go build ./cmd/vrrpd: %w\n%s", err, out)
				}
			}
			impls[name] = o.vrrpdImpl(bin)
		case "vrrpd-b":
			if _, err := os.Stat(o.vrrpdB); err != nil {
				return fmt.Errorf("-vrrpd-b: %w", err)
			}
			impls[name] = renamed{o.vrrpdImpl(o.vrrpdB), name}
		}
	}
	// After the build, so the compiler does not run at raised priority.
	if o.nice != 0 {
		if err := netns.Renice(o.nice); err != nil {
			return err
		}
	}
	if o.idle > 0 {
		for _, name := range o.impls {
			if err := soak(ctx, o, impls[name], stdout); err != nil {
				return err
			}
		}
		return nil
	}
	var all []result
	for _, iv := range o.intervals {
		for _, turn := range o.turns() {
			rs, err := measure(ctx, o, impls[turn.impl], iv, turn.reps, stderr)
			all = append(all, rs...)
			if err != nil {
				printTable(stdout, o, all)
				return fmt.Errorf("%s at %v: %w", turn.impl, iv, err)
			}
		}
	}
	printTable(stdout, o, all)
	return nil
}

func (o options) vrrpdImpl(bin string) vrrplab.Vrrpd {
	v := vrrplab.Vrrpd{Bin: bin}
	if o.vrrpdRT >= 0 {
		v.RealtimePriority = &o.vrrpdRT
	}
	return v
}

// renamed is an implementation under another name, so two builds of one
// daemon get rows of their own.
type renamed struct {
	vrrplab.Impl
	name string
}

func (r renamed) Name() string { return r.name }

// repRange is the repetitions first..last, counted from 1.
type repRange struct{ first, last int }

// turn is one lab: an implementation and the repetitions it runs there.
type turn struct {
	impl string
	reps repRange
}

// turns orders the labs of one interval: each implementation's repetitions
// in one lab; or, interleaved, one repetition per lab with the order of
// the implementations reversed every other repetition (A B, B A, ...).
func (o options) turns() []turn {
	var ts []turn
	if !o.interleave {
		for _, name := range o.impls {
			ts = append(ts, turn{name, repRange{1, o.reps}})
		}
		return ts
	}
	for rep := 1; rep <= o.reps; rep++ {
		names := slices.Clone(o.impls)
		if rep%2 == 0 {
			slices.Reverse(names)
		}
		for _, name := range names {
			ts = append(ts, turn{name, repRange{rep, rep}})
		}
	}
	return ts
}

// newLab makes a lab and the topology; the caller closes the lab.
func newLab(ctx context.Context, o options) (*netns.Lab, *vrrplab.Topology, error) {
	var opts []netns.Option
	if o.logDir != "" {
		opts = append(opts, netns.WithDir(filepath.Join(o.logDir, time.Now().Format("150405.000"))))
	}
	lab, err := netns.New(ctx, "fob", opts...)
	if err != nil {
		return nil, nil, err
	}
	// Close on every path, including SIGINT: the caller's ctx is cancelled
	// by the signal and the deferred Close in the caller runs.
	topo, err := vrrplab.Build(lab, 1)
	if err != nil {
		lab.Close()
		return nil, nil, err
	}
	if o.capture {
		// On the bridge: every frame between the client and the routers.
		_, err := topo.Switch.Start(ctx, "tcpdump", "tcpdump", "-i", netns.Bridge, "-n", "-U", "-s", "128",
			"-w", filepath.Join(lab.Dir(), "switch.pcap"),
			"arp or ip proto 112 or (tcp port 7000 and tcp[tcpflags] & (tcp-syn|tcp-rst) != 0)")
		if err != nil {
			lab.Close()
			return nil, nil, err
		}
	}
	return lab, topo, nil
}
