// Command chatd runs one node of the chatd IRC service (see package chatd).
//
//	chatd -config /etc/chatd/chatd.yaml
//	chatd -listen :6667 -http :8080 -dsn 'chatd:pw@tcp(db:3306)/chatd' -node a
//	chatd -config chatd.yaml -t      # check the configuration and exit
//
//	chatd -hash-password < pw.txt   # print an argon2id hash for operators[].password
//
// Flags override the file. SIGTERM and SIGINT start lameduck shutdown;
// SIGHUP reloads the operator list and the MOTD from the file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/chatd/store"
	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
)

// stdin is where -hash-password reads the password (a test replaces it).
var stdin io.Reader = os.Stdin

func main() {
	os.Exit(cli.Report(os.Stderr, "chatd", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)))
}

// options are the command-line flags; each one set overrides the file.
type options struct {
	configPath, logLevel, logFormat string
	check                           bool
}

// run parses args, builds the configuration and serves until a signal.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.configPath, "config", "", "YAML configuration `file`")
	fs.BoolVar(&o.check, "t", false, "check the configuration and exit")
	showVersion := fs.Bool("version", false, "print the version and exit")
	hashPassword := fs.Bool("hash-password", false, "read a password from stdin, print its argon2id hash (for operators[].password) and exit")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "json", "json or text")
	// Overrides, applied in flag order after the file is read.
	var sets []func(*chatd.Config) error
	str := func(name, usage string, field func(*chatd.Config) *string) {
		fs.Func(name, usage, func(v string) error {
			sets = append(sets, func(c *chatd.Config) error { *field(c) = v; return nil })
			return nil
		})
	}
	num := func(name, usage string, field func(*chatd.Config) *int, zero int) {
		fs.Func(name, usage, func(v string) error {
			var n int
			if _, err := fmt.Sscan(v, &n); err != nil {
				return fmt.Errorf("not a number: %q", v)
			}
			if n == 0 {
				n = zero
			}
			sets = append(sets, func(c *chatd.Config) error { *field(c) = n; return nil })
			return nil
		})
	}
	dur := func(name, usage string, field func(*chatd.Config) *time.Duration) {
		fs.Func(name, usage, func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			sets = append(sets, func(c *chatd.Config) error { *field(c) = d; return nil })
			return nil
		})
	}
	var listen, peers cli.ListFlag
	fs.Var(&listen, "listen", "IRC listen `address`es, comma-separated or repeated (default :6667)")
	fs.Var(&peers, "peers", "peers' nudge UDP `addresses`")
	str("node", "node name, unique in the cluster (default: host name)", func(c *chatd.Config) *string { return &c.Node })
	str("server-name", "IRC server name (default: node)", func(c *chatd.Config) *string { return &c.ServerName })
	str("network", "IRC network name", func(c *chatd.Config) *string { return &c.Network })
	str("dsn", "store: MySQL DSN, sqlite:PATH, or empty for in-memory SQLite", func(c *chatd.Config) *string { return &c.DSN })
	str("http", "health and metrics listen address", func(c *chatd.Config) *string { return &c.HTTPListen })
	str("tls-listen", "TLS IRC listen address", func(c *chatd.Config) *string { return &c.TLSListen })
	str("tls-cert", "TLS certificate file", func(c *chatd.Config) *string { return &c.TLSCert })
	str("tls-key", "TLS key file", func(c *chatd.Config) *string { return &c.TLSKey })
	str("nudge-listen", "UDP address peers nudge after commits", func(c *chatd.Config) *string { return &c.NudgeListen })
	str("motd", "message of the day", func(c *chatd.Config) *string { return &c.MOTD })
	num("max-clients", "connection limit (0 or -1: unlimited)", func(c *chatd.Config) *int { return &c.Limits.MaxClients }, -1)
	num("max-clients-per-ip", "per-IP connection limit (0 or -1: unlimited)", func(c *chatd.Config) *int { return &c.Limits.MaxClientsPerIP }, -1)
	fs.Func("exempt-networks", "CIDRs free of per-IP limits, comma-separated (replaces the default, loopback)", func(v string) error {
		nets := []string{}
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				nets = append(nets, n)
			}
		}
		sets = append(sets, func(c *chatd.Config) error { c.Limits.ExemptNetworks = nets; return nil })
		return nil
	})
	num("line-bytes", "longest accepted line, tags included", func(c *chatd.Config) *int { return &c.Limits.LineBytes }, 0)
	num("sendq-bytes", "per-client send queue bound", func(c *chatd.Config) *int { return &c.Limits.SendQBytes }, 0)
	num("flood-burst", "lines a client may send at once", func(c *chatd.Config) *int { return &c.Limits.FloodBurst }, 0)
	fs.Func("flood-rate", "lines per second after the burst (0: flood control off)", func(v string) error {
		var r float64
		if _, err := fmt.Sscan(v, &r); err != nil {
			return fmt.Errorf("not a number: %q", v)
		}
		if r == 0 {
			r = -1
		}
		sets = append(sets, func(c *chatd.Config) error { c.Limits.FloodRate = r; return nil })
		return nil
	})
	dur("heartbeat", "node heartbeat interval", func(c *chatd.Config) *time.Duration { return &c.Timers.Heartbeat })
	dur("dead-after", "stale heartbeat age after which a node is reaped", func(c *chatd.Config) *time.Duration { return &c.Timers.DeadAfter })
	dur("tail-poll", "log poll interval", func(c *chatd.Config) *time.Duration { return &c.Timers.TailPoll })
	dur("ping-interval", "idle time before the server PINGs a client", func(c *chatd.Config) *time.Duration { return &c.Timers.PingInterval })
	dur("lameduck-drain", "time between failing readiness and disconnecting clients", func(c *chatd.Config) *time.Duration { return &c.Timers.LameduckDrain })
	dur("lameduck-grace", "bound on the whole shutdown", func(c *chatd.Config) *time.Duration { return &c.Timers.LameduckGrace })
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return cli.FlagError(err)
	}
	if fs.NArg() > 0 {
		return cli.Usage(fmt.Errorf("unexpected arguments %q", fs.Args()))
	}
	chatd.Version = "chatd-" + buildinfo.Version()
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String("chatd"))
		return nil
	}
	if *hashPassword {
		return printHash(stdin, stdout)
	}
	cfg, err := loadConfig(o.configPath, listen, peers, sets)
	if err != nil {
		return err
	}
	if o.check {
		fmt.Fprintf(stdout, "configuration OK (node %s, listen %v, store %s)\n", cfg.Node, cfg.Listen, storeKind(cfg.DSN))
		return nil
	}
	logger, err := cli.NewLogger(stderr, o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	chatd.ApplyMemoryLimit(cfg.Limits)
	srv, err := chatd.New(cfg, logger)
	if err != nil {
		return err
	}
	srv.SetReloader(func() (chatd.Config, error) { return loadConfig(o.configPath, listen, peers, sets) })
	hups := make(chan os.Signal, 1)
	signal.Notify(hups, syscall.SIGHUP)
	defer signal.Stop(hups)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		for {
			select {
			case <-hups:
				if err := srv.Rehash(); err != nil {
					logger.Warn("SIGHUP: reload failed, keeping the old operators and MOTD", "err", err)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	go func() {
		select {
		case sig := <-sigs:
			logger.Info("lameduck: draining before exit", "signal", sig.String(), "grace", cfg.Timers.LameduckGrace)
			sctx, scancel := context.WithTimeout(context.Background(), cfg.Timers.LameduckGrace)
			if err := srv.Shutdown(sctx); err != nil {
				logger.Warn("shutdown incomplete", "err", err)
			}
			scancel()
			cancel()
		case <-ctx.Done():
		}
	}()
	return srv.Run(ctx)
}

// loadConfig reads the optional file then applies flag overrides and
// validates the result.
func loadConfig(path string, listen, peers []string, sets []func(*chatd.Config) error) (chatd.Config, error) {
	var cfg chatd.Config
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return cfg, fmt.Errorf("config: %w", err)
		}
		if cfg, err = chatd.ParseConfig(path, data); err != nil {
			return cfg, err
		}
	}
	if len(listen) > 0 {
		cfg.Listen = listen
	}
	if len(peers) > 0 {
		cfg.Peers = peers
	}
	for _, set := range sets {
		if err := set(&cfg); err != nil {
			return cfg, err
		}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("config: %w", err)
	}
	return cfg, nil
}

func storeKind(dsn string) string {
	if dsn == "" || strings.HasPrefix(dsn, "sqlite:") {
		return "sqlite"
	}
	return "mysql"
}

// printHash reads one password (the first line of r) and prints its
// argon2id PHC hash. An empty password is refused: it would let anyone OPER.
func printHash(r io.Reader, w io.Writer) error {
	b, err := io.ReadAll(io.LimitReader(r, 4096))
	if err != nil {
		return fmt.Errorf("-hash-password: %w", err)
	}
	pw, _, _ := strings.Cut(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return errors.New("-hash-password: no password on stdin")
	}
	h, err := store.HashPassword(pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, h)
	return nil
}
