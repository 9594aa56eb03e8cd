package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
)

const usage = `usage: chatload <storm|steady|failover|ceiling|plot> [flags]
       chatload --version

  storm     open-loop connection storm with httperf's figures
            (--series conns:rate,... --reps N for the paper's table and plots)
  steady    S senders at R msg/s into channels of M members, across nodes
  failover  steady load plus a hook on cue; outage, reconnect, missing, duplicates
  ceiling   raise the rate until errors or p99 cross a threshold
  plot      draw several saved series (storm --series ... --json F) in one
            pair of figures, e.g. single server against load balanced:
            chatload plot --out DIR single.json balanced.json

Run "chatload <command> -h" for the flags of a command.`

// common holds the flags every command shares.
type common struct {
	servers    cli.ListFlag
	sources    cli.ListFlag
	timeout    time.Duration
	jsonPath   string
	mdPath     string
	plotDir    string
	progress   string
	nickPrefix string
	noRaiseFD  bool
}

func (c *common) register(fs *flag.FlagSet) {
	fs.Var(&c.servers, "server", "IRC server host:port (repeatable or comma list; connections go round robin, for \"across nodes\")")
	fs.Var(&c.sources, "source-addrs", "local IPs or CIDR prefixes to bind round robin, to get more ephemeral ports (comma list, e.g. 127.0.0.0/28)")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "longest wait for any one step (httperf --timeout)")
	fs.StringVar(&c.jsonPath, "json", "", "write the result as JSON to `FILE`")
	fs.StringVar(&c.mdPath, "markdown", "", "write the result as Markdown to `FILE`")
	fs.StringVar(&c.plotDir, "plot", "", "write PNG and SVG plots into `DIR`")
	fs.StringVar(&c.progress, "progress", "auto", "progress display: auto, bar, plain or none")
	fs.StringVar(&c.nickPrefix, "nick-prefix", "", "nick and channel prefix (default random)")
	fs.BoolVar(&c.noRaiseFD, "no-raise-fd-limit", false, "keep the open-file limit as it is")
}

func (c *common) sourceAddrs() ([]netip.Addr, error) {
	out, err := chatload.ParseSourceAddrs(c.sources.String())
	if err != nil {
		return nil, fmt.Errorf("--source-addrs: %w", err)
	}
	return out, nil
}

func (c *common) check() error {
	if len(c.servers) == 0 {
		return errors.New("no --server given")
	}
	return nil
}

// writeOutputs writes the JSON and Markdown files asked for.
// report prints a result (with text, or as Markdown when text is nil),
// writes the -json and -md files, and, with -plots, runs plot into that
// directory (nil plot: nothing to draw).
func (c *common) report(stdout io.Writer, res chatload.MarkdownReport, text func(io.Writer) error, plot func(dir string) ([]string, error)) ([]string, error) {
	if text == nil {
		text = res.WriteMarkdown
	}
	if err := text(stdout); err != nil {
		return nil, err
	}
	if err := c.writeOutputs(res, res); err != nil {
		return nil, err
	}
	if c.plotDir == "" || plot == nil {
		return nil, nil
	}
	return plot(c.plotDir)
}

func (c *common) writeOutputs(v any, md chatload.MarkdownReport) error {
	if c.jsonPath != "" {
		if err := chatload.WriteFile(c.jsonPath, func(w io.Writer) error { return chatload.WriteJSON(w, v) }); err != nil {
			return err
		}
	}
	if c.mdPath != "" {
		if err := chatload.WriteFile(c.mdPath, md.WriteMarkdown); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return cli.Usage(errors.New("no command"))
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "storm":
		return runStorm(ctx, rest, stdout, stderr)
	case "steady":
		return runSteady(ctx, rest, stdout, stderr, false)
	case "failover":
		return runSteady(ctx, rest, stdout, stderr, true)
	case "ceiling":
		return runCeiling(ctx, rest, stdout, stderr)
	case "plot":
		return runPlot(rest, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprintln(stdout, usage)
		return nil
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, buildinfo.String("chatload"))
		return nil
	}
	fmt.Fprintln(stderr, usage)
	return cli.Usage(fmt.Errorf("unknown command %q", cmd))
}

// stormFlags are shared by storm and ceiling.
type stormFlags struct {
	common
	conns, messages, size, channels, maxOpen int
	rate                                     float64
	channel                                  string
	noCaps                                   bool
	lagWarn, think, hold                     time.Duration
}

func (f *stormFlags) register(fs *flag.FlagSet) {
	f.common.register(fs)
	fs.IntVar(&f.conns, "conns", 1000, "connections to open (httperf --num-conns)")
	fs.Float64Var(&f.rate, "rate", 100, "new connections per second, open loop (httperf --rate)")
	fs.IntVar(&f.messages, "messages", 1, "PRIVMSGs each connection sends before QUIT")
	fs.IntVar(&f.size, "size", 64, "bytes of text per message")
	fs.StringVar(&f.channel, "channel", "", "channel to join before sending (default: message oneself)")
	fs.IntVar(&f.channels, "channels", 1, "spread connections over this many channels named <channel>-N")
	fs.BoolVar(&f.noCaps, "no-caps", false, "skip CAP negotiation (plain RFC 1459 registration)")
	fs.IntVar(&f.maxOpen, "max-open", 0, "most connections open at once (default: open-file limit minus a reserve)")
	fs.DurationVar(&f.lagWarn, "lag-warn", 50*time.Millisecond, "warn when p99 start lag exceeds this (client bottleneck)")
	fs.DurationVar(&f.think, "think", 0, "pause between a message's echo and the next message")
	fs.DurationVar(&f.hold, "hold", 0, "stay connected (answering PINGs) this long after the last message, before QUIT")
}

func (f *stormFlags) config(progress func(chatload.Progress)) (chatload.StormConfig, error) {
	src, err := f.sourceAddrs()
	if err != nil {
		return chatload.StormConfig{}, err
	}
	return chatload.StormConfig{
		Servers: f.servers, SourceAddrs: src, Conns: f.conns, Rate: f.rate,
		Messages: f.messages, MessageSize: f.size, Channel: f.channel, Channels: f.channels,
		NoCaps: f.noCaps, Timeout: f.timeout, MaxOpen: f.maxOpen, LagWarn: f.lagWarn, Think: f.think, Hold: f.hold,
		NickPrefix: f.nickPrefix, NoRaiseFDLimit: f.noRaiseFD, Progress: progress,
	}, nil
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("chatload "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return cli.FlagError(err)
	}
	if fs.NArg() > 0 {
		return cli.Usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	return nil
}

func newPrinter(mode string, stderr io.Writer) (*progressPrinter, error) {
	m, err := progressMode(mode, stderr)
	if err != nil {
		return nil, err
	}
	return &progressPrinter{mode: m, w: stderr, every: 5 * time.Second}, nil
}

func runStorm(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("storm", stderr)
	var f stormFlags
	f.register(fs)
	series := fs.String("series", "", "run several points conns:rate,... (e.g. 1000:100,2000:200) instead of one")
	reps := fs.Int("reps", 1, "repetitions per series point; the report gives the median and spread")
	pause := fs.Duration("pause", 0, "pause between series runs")
	label := fs.String("label", "", "series label for tables and plot legends")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	pp, err := newPrinter(f.progress, stderr)
	if err != nil {
		return err
	}
	cfg, err := f.config(pp.callback())
	if err != nil {
		return err
	}
	if *series == "" && *reps <= 1 {
		res, err := chatload.RunStorm(ctx, cfg)
		pp.finish()
		if res != nil {
			var plot func(string) ([]string, error)
			if len(res.Timeline) > 0 {
				// One point makes no curve against load: draw the run over time.
				plot = func(dir string) ([]string, error) { return chatload.PlotStorm(dir, res) }
			}
			if _, werr := f.report(stdout, res, res.WriteText, plot); werr != nil {
				return werr
			}
		}
		return err
	}
	points := []chatload.LoadPoint{{Conns: f.conns, Rate: f.rate}}
	if *series != "" {
		if points, err = chatload.ParseSeries(*series); err != nil {
			return err
		}
	}
	s, err := chatload.RunSeries(ctx, chatload.SeriesConfig{
		Base: cfg, Points: points, Reps: *reps, Pause: *pause,
		OnRun: func(pi, rep int, r *chatload.StormResult) {
			pp.finish()
			fmt.Fprintf(stderr, "chatload point %d-%g/s rep %d: response %.2f ms, %.1f KB/s, %d errors\n",
				points[pi].Conns, points[pi].Rate, rep+1, r.Reply.All.Avg, r.NetIO.KBPerSec, r.Errors.Total)
		},
	})
	pp.finish()
	if s == nil {
		return err
	}
	s.Label = *label
	var plot func(string) ([]string, error)
	if len(s.Points) > 0 {
		plot = func(dir string) ([]string, error) { return chatload.PlotSeries(dir, s) }
	}
	files, werr := f.report(stdout, s, nil, plot)
	if werr != nil {
		return werr
	}
	if len(files) > 0 {
		fmt.Fprintf(stderr, "chatload: plots %s\n", strings.Join(files, " "))
	}
	return err
}

func runCeiling(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("ceiling", stderr)
	var f stormFlags
	f.register(fs)
	start := fs.Float64("start-rate", 100, "first rate tried [conn/s]")
	step := fs.Float64("step", 100, "added to the rate after each held step")
	factor := fs.Float64("factor", 0, "multiply the rate by this instead of adding --step (when > 1)")
	maxRate := fs.Float64("max-rate", 5000, "stop after this rate")
	stepDur := fs.Duration("step-duration", 10*time.Second, "each step offers rate × this many connections")
	maxErr := fs.Float64("max-error-ratio", 0.01, "a step fails above this share of failed connections")
	maxP99 := fs.Duration("max-p99", time.Second, "a step fails above this p99 reply time")
	refine := fs.Int("refine", 0, "bisection steps between the last held and first failed rate")
	retries := fs.Int("retries", 0, "rerun a failed step up to this many times (it holds if any run holds)")
	maxCPU := fs.Float64("max-client-cpu", 0, "share of all cores chatload may use before a step counts as client-limited (default 0.85, negative disables)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := f.check(); err != nil {
		return err
	}
	pp, err := newPrinter(f.progress, stderr)
	if err != nil {
		return err
	}
	base, err := f.config(pp.callback())
	if err != nil {
		return err
	}
	res, err := chatload.RunCeiling(ctx, chatload.CeilingConfig{
		Base: base, StartRate: *start, Step: *step, Factor: *factor, MaxRate: *maxRate,
		StepDuration: *stepDur, MaxErrorRatio: *maxErr, MaxP99: *maxP99, Refine: *refine, Retries: *retries, MaxClientCPU: *maxCPU,
		OnStep: func(s chatload.CeilingStep) {
			pp.finish()
			fmt.Fprintf(stderr, "chatload ceiling %g conn/s: held %v %s\n", s.Rate, s.Held, s.Reason)
		},
	})
	pp.finish()
	if res == nil {
		return err
	}
	var plot func(string) ([]string, error)
	if len(res.Steps) > 0 {
		plot = func(dir string) ([]string, error) { return chatload.PlotCeiling(dir, res) }
	}
	if _, werr := f.report(stdout, res, nil, plot); werr != nil {
		return werr
	}
	return err
}

// runPlot draws saved series together, like the paper's Figures 3 and 4
// put the single server and the load-balanced cluster side by side.
func runPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("plot", stderr)
	out := fs.String("out", "", "directory for the PNG and SVG files (required)")
	if err := fs.Parse(args); err != nil {
		return cli.FlagError(err)
	}
	if *out == "" || fs.NArg() == 0 {
		return cli.Usage(errors.New("plot needs --out DIR and at least one series JSON file (from storm --series ... --json FILE)"))
	}
	var all []*chatload.Series
	for _, path := range fs.Args() {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		var s chatload.Series
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("plot: %s: %w", path, err)
		}
		if len(s.Points) == 0 {
			return fmt.Errorf("plot: %s has no series points; write one with storm --series ... --json", path)
		}
		if s.Label == "" {
			s.Label = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
		}
		all = append(all, &s)
	}
	files, err := chatload.PlotSeries(*out, all...)
	if err != nil {
		return err
	}
	for _, s := range all {
		if err := s.WriteMarkdown(stdout); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintf(stderr, "chatload: plots %s\n", strings.Join(files, " "))
	return nil
}
