package main

import (
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/internal/cli"
)

// options are the command-line flags; each one set overrides the file.
type options struct {
	configPath, logLevel, logFormat  string
	check, showVersion, hashPassword bool
	listen, peers                    cli.ListFlag
	// sets are the overrides, applied in flag order after the file is read.
	sets []func(*chatd.Config) error
}

// register defines chatd's flags (chatd(8)) on fs.
func (o *options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.configPath, "config", "", "YAML configuration `file`")
	fs.BoolVar(&o.check, "t", false, "check the configuration and exit")
	fs.BoolVar(&o.showVersion, "version", false, "print the version and exit")
	fs.BoolVar(&o.hashPassword, "hash-password", false, "read a password from stdin, print its argon2id hash (for operators[].password) and exit")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.logFormat, "log-format", "json", "json or text")
	str := func(name, usage string, field func(*chatd.Config) *string) {
		fs.Func(name, usage, func(v string) error {
			o.sets = append(o.sets, func(c *chatd.Config) error { *field(c) = v; return nil })
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
			o.sets = append(o.sets, func(c *chatd.Config) error { *field(c) = n; return nil })
			return nil
		})
	}
	dur := func(name, usage string, field func(*chatd.Config) *time.Duration) {
		fs.Func(name, usage, func(v string) error {
			d, err := time.ParseDuration(v)
			if err != nil {
				return err
			}
			o.sets = append(o.sets, func(c *chatd.Config) error { *field(c) = d; return nil })
			return nil
		})
	}
	fs.Var(&o.listen, "listen", "IRC listen `address`es, comma-separated or repeated (default :6667)")
	fs.Var(&o.peers, "peers", "peers' nudge UDP `addresses`")
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
		o.sets = append(o.sets, func(c *chatd.Config) error { c.Limits.ExemptNetworks = nets; return nil })
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
		o.sets = append(o.sets, func(c *chatd.Config) error { c.Limits.FloodRate = r; return nil })
		return nil
	})
	dur("heartbeat", "node heartbeat interval", func(c *chatd.Config) *time.Duration { return &c.Timers.Heartbeat })
	dur("dead-after", "stale heartbeat age after which a node is reaped", func(c *chatd.Config) *time.Duration { return &c.Timers.DeadAfter })
	dur("tail-poll", "log poll interval", func(c *chatd.Config) *time.Duration { return &c.Timers.TailPoll })
	dur("ping-interval", "idle time before the server PINGs a client", func(c *chatd.Config) *time.Duration { return &c.Timers.PingInterval })
	dur("lameduck-drain", "time between failing readiness and disconnecting clients", func(c *chatd.Config) *time.Duration { return &c.Timers.LameduckDrain })
	dur("lameduck-grace", "bound on the whole shutdown", func(c *chatd.Config) *time.Duration { return &c.Timers.LameduckGrace })
}
