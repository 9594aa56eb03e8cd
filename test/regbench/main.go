// Command regbench measures connection registration on chatd beside the
// reference servers ngIRCd and InspIRCd (Debian's packages), in one run on
// one machine, with chatload's open-loop storms (httperf style: connection i
// starts at i/rate whatever the server does). For each server it reports:
//
//   - register p99 (NICK/USER to 001) in a storm of 2,000 at 200/s and of
//     10,000 at 1,000/s;
//   - server CPU per registration, from /proc/PID/stat over those storms
//     (each connection registers, reads the welcome burst and quits);
//   - the highest clean storm rate: errors at most 1 %, p99 from the
//     scheduled start to 001 at most 1 s;
//   - memory per idle registered client: RSS growth / clients held.
//
// and chatd's ratio to the best reference, with the load average. Every
// server runs on loopback with a configuration generated in a temporary
// directory (never /etc) and is stopped by its recorded PID. Ergo, the third
// reference of issue #17, is not packaged by Debian and its module is not
// served by the Go proxy here, so it is not measured. `make bench-register`:
//
//	go run ./test/regbench -reps 3
//	go run ./test/regbench -servers chatd -reps 1 -pprof-dir /tmp/prof
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
	"strconv"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "regbench:", err)
		os.Exit(1)
	}
}

// stormSpec is one storm: conns connections started at rate per second.
type stormSpec struct {
	conns int
	rate  float64
}

func (s stormSpec) String() string { return fmt.Sprintf("storm %d at %g/s", s.conns, s.rate) }

type options struct {
	servers     []kind
	storms      []stormSpec
	rates       []float64
	ceilingSecs float64
	reps        int
	hold        int
	holdRate    float64
	caps        bool
	chatd       string
	chatdBase   string
	keep        string
	pprofDir    string
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("regbench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	servers := fs.String("servers", "chatd,ngircd,inspircd", "servers to measure, comma separated")
	storms := fs.String("storms", "2000@200,10000@1000", "latency storms, conns@rate, comma separated; empty skips")
	rates := fs.String("ceiling-rates", "500,1000,2000,3000,4000,6000", "storm rates tried in order for the clean-rate ceiling; empty skips")
	secs := fs.Float64("ceiling-secs", 3, "length of each ceiling storm in seconds")
	reps := fs.Int("reps", 3, "repetitions; medians and spread are over them")
	hold := fs.Int("hold", 15000, "idle registered clients held for the memory figure (0 skips)")
	holdRate := fs.Float64("hold-rate", 1000, "registration rate of the held clients")
	caps := fs.Bool("caps", false, "negotiate CAP (echo-message) in storms; default RFC 1459 registration on every server")
	chatd := fs.String("chatd", "", "chatd binary (default: go build ./cmd/chatd)")
	chatdBase := fs.String("chatd-base", "", "with -servers chatd-base: a second chatd binary, e.g. built from main, measured in the same run")
	keep := fs.String("keep", "", "keep configurations and logs here (default: a temporary directory, removed)")
	pprofDir := fs.String("pprof-dir", "", "write a CPU profile of chatd over each storm here")
	if err := fs.Parse(args); err != nil {
		return options{}, err
	}
	o := options{ceilingSecs: *secs, reps: *reps, hold: *hold, holdRate: *holdRate, caps: *caps,
		chatd: *chatd, chatdBase: *chatdBase, keep: *keep, pprofDir: *pprofDir}
	for _, name := range strings.Split(*servers, ",") {
		k, ok := kindByName(strings.TrimSpace(name))
		if !ok {
			return o, fmt.Errorf("-servers: unknown server %q (chatd, chatd-base, ngircd, inspircd)", name)
		}
		o.servers = append(o.servers, k)
	}
	for _, s := range strings.Split(*storms, ",") {
		if *storms == "" {
			break
		}
		c, r, ok := strings.Cut(strings.TrimSpace(s), "@")
		n, err1 := strconv.Atoi(c)
		rate, err2 := strconv.ParseFloat(r, 64)
		if !ok || err1 != nil || err2 != nil || n <= 0 || rate <= 0 {
			return o, fmt.Errorf("-storms: %q is not conns@rate (e.g. 2000@200)", s)
		}
		o.storms = append(o.storms, stormSpec{n, rate})
	}
	if *rates != "" {
		for _, s := range strings.Split(*rates, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || r <= 0 {
				return o, fmt.Errorf("-ceiling-rates: %q is not a positive rate", s)
			}
			o.rates = append(o.rates, r)
		}
	}
	if kindsIn(o.servers)["chatd-base"] && *chatdBase == "" {
		return o, fmt.Errorf("-servers chatd-base needs -chatd-base BINARY")
	}
	if o.reps < 1 {
		return o, fmt.Errorf("-reps must be at least 1, got %d", o.reps)
	}
	return o, nil
}

func kindsIn(ks []kind) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		m[k.name] = true
	}
	return m
}

func kindByName(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	dir := o.keep
	if dir == "" {
		if dir, err = os.MkdirTemp("", "regbench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	}
	bins, err := binaries(o, dir)
	if err != nil {
		return err
	}
	res := newResults(o)
	for rep := 1; rep <= o.reps; rep++ {
		fmt.Fprintf(stderr, "regbench: repetition %d of %d, load average %.2f\n", rep, o.reps, loadAvg())
		if err := runRep(ctx, o, bins, filepath.Join(dir, fmt.Sprintf("rep%d", rep)), res, stderr); err != nil {
			return err
		}
	}
	res.print(stdout)
	return nil
}

// binaries finds each server's executable; chatd is built unless given.
func binaries(o options, dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, k := range o.servers {
		switch {
		case k.name == "chatd" && o.chatd != "":
			bins[k.name] = o.chatd
		case k.name == "chatd-base":
			bins[k.name] = o.chatdBase
		case k.name == "chatd":
			out := filepath.Join(dir, "chatd")
			cmd := exec.Command("go", "build", "-o", out, "./cmd/chatd")
			if b, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("go build ./cmd/chatd (run from the module root): %v\n%s", err, b)
			}
			bins[k.name] = out
		default:
			if _, err := os.Stat(k.bin); err != nil {
				return nil, fmt.Errorf("%s: %w (scripts/install-deps.sh installs it)", k.name, err)
			}
			bins[k.name] = k.bin
		}
	}
	return bins, nil
}

// runRep starts every server fresh, runs each measure against each server
// in turn (so a change of machine load touches all of them alike) and
// stops them.
func runRep(ctx context.Context, o options, bins map[string]string, dir string, res *results, stderr io.Writer) error {
	var servers []*server
	defer func() {
		for _, s := range servers {
			s.stop()
		}
	}()
	for _, k := range o.servers {
		s, err := start(ctx, k, bins[k.name], dir)
		if err != nil {
			return err
		}
		servers = append(servers, s)
	}
	for _, sp := range o.storms {
		for _, s := range servers {
			stopProf := profile(s, o.pprofDir, sp, stderr)
			out, err := storm(ctx, s, sp.conns, sp.rate, o.caps)
			stopProf()
			if err != nil {
				return fmt.Errorf("%s %v: %w", s.name, sp, err)
			}
			fmt.Fprintf(stderr, "  %-8s %v: register p50 %.2f p99 %.2f ms, %.0f µs CPU/registration, %d/%d failed, load %.2f %v\n",
				s.name, sp, out.RegisterP50, out.RegisterP99, out.CPUPerReg, out.Failed, out.Conns, out.Load, out.Samples)
			res.addStorm(sp, s.name, out)
			if err := settle(ctx, s); err != nil {
				return err
			}
		}
	}
	if len(o.rates) > 0 {
		for _, s := range servers {
			best, steps, err := ceiling(ctx, s, o.rates, o.ceilingSecs, o.caps)
			if err != nil {
				return fmt.Errorf("%s ceiling: %w", s.name, err)
			}
			last := steps[len(steps)-1]
			fmt.Fprintf(stderr, "  %-8s clean storm rate %.0f/s (last step: %d/%d failed, p99 from schedule %.0f ms, load %.2f) %v\n",
				s.name, best, last.Failed, last.Conns, last.WelcomeP99, last.Load, last.Samples)
			res.addCeiling(s.name, best)
			if err := settle(ctx, s); err != nil {
				return err
			}
		}
	}
	if o.hold > 0 {
		for i, s := range servers {
			// A fresh process: after the storms a Go server's RSS holds
			// freed heap the held clients would reuse, hiding their cost.
			s.stop()
			s, err := start(ctx, o.servers[i], bins[s.name], filepath.Join(dir, "fresh"))
			if err != nil {
				return err
			}
			servers[i] = s
			per, held, err := idleMemory(ctx, s, o.hold, o.holdRate)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "  %-8s %.1f KiB per idle client (%d of %d held), load %.2f\n", s.name, per/1024, held, o.hold, loadAvg())
			res.addMemory(s.name, per)
		}
	}
	return nil
}
