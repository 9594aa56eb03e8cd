// Command vrrpd is a VRRPv3 router (RFC 5798, RFC 9568) with a built-in L4
// balancer: a keepalived replacement with a strict YAML configuration, a
// control socket (vrrpctl), Prometheus metrics and structured logs. The
// daemon itself is package internal/vrrpd; this is its command line.
//
//	vrrpd -f /etc/vrrpd/vrrpd.yaml      run
//	vrrpd -t -f /etc/vrrpd/vrrpd.yaml   check the configuration and exit
//
// Signals: SIGHUP reloads (a configuration that does not validate is
// refused and the running one kept), SIGTERM and SIGINT stop gracefully
// (priority 0 adverts, addresses removed once the backups took over).
//
// Privileges: CAP_NET_RAW (VRRP and ARP sockets), CAP_NET_ADMIN (addresses,
// IPVS, nftables) and, for global.realtime_priority (default 10),
// CAP_SYS_NICE with realtime scheduling allowed: every thread then runs in
// SCHED_RR so that a busy host does not delay adverts into a false
// failover. Without it vrrpd warns and runs at normal priority.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/vrrpd"
)

const defaultConfig = "/etc/vrrpd/vrrpd.yaml"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	code := cli.Report(os.Stderr, "vrrpd", run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
}

// run parses the command line (exit statuses of vrrpd(8)), checks or loads
// the configuration and serves it until ctx is done.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vrrpd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var path string
	fs.StringVar(&path, "f", defaultConfig, "configuration `file`")
	fs.StringVar(&path, "config", defaultConfig, "configuration `file` (same as -f)")
	test := fs.Bool("t", false, "check the configuration and exit: 0 if valid, 1 with every error otherwise")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return cli.FlagError(err)
	}
	if fs.NArg() > 0 {
		return cli.Usage(fmt.Errorf("unexpected argument %q", fs.Arg(0)))
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String("vrrpd"))
		return nil
	}
	cfg, err := config.Load(path)
	if err != nil {
		// Every error of the file, each with its line, as -t promises.
		fmt.Fprintln(stderr, err)
		return cli.Exit(1)
	}
	if *test {
		for _, w := range cfg.Warnings(config.InterfaceExists) {
			fmt.Fprintln(stderr, "warning:", w)
		}
		fmt.Fprintf(stdout, "%s: configuration OK (%d instances, %d sync groups, %d virtual servers)\n",
			path, len(cfg.Instances), len(cfg.SyncGroups), len(cfg.VirtualServers))
		return nil
	}
	log, err := cli.NewLogger(stderr, cfg.Global.LogLevel, *logFormat)
	if err != nil {
		return cli.Usage(fmt.Errorf("-log-format: %w", err))
	}
	if err := vrrpd.Serve(ctx, path, cfg, log, vrrpd.Options{}); err != nil {
		log.Error("vrrpd failed", "err", err)
		return cli.Exit(1)
	}
	return nil
}
