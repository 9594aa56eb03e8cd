// Command vrrpctl talks to vrrpd over its control socket.
//
//	vrrpctl status [--json]                 instances as a table, or JSON
//	vrrpctl maintenance on|off INSTANCE     hand over gracefully / come back
//	vrrpctl reload                          like SIGHUP, but reports errors
//	vrrpctl balancer [--json]               the L4 balancer, ipvsadm-style
//	vrrpctl events [--json]                 follow the event stream
//	vrrpctl import-keepalived FILE          convert a keepalived.conf to vrrpd YAML
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/vrrp/router"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: vrrpctl [-s socket] command
       vrrpctl -version
commands:
  status [--json]               instance states as a table, or JSON
  maintenance on|off INSTANCE   graceful hand-over to the backup, and back
  reload                        reload vrrpd's configuration, reporting errors
  balancer [--json]             L4 balancer table (ipvsadm -Ln --stats style)
  events [--json]               follow state changes and other events
  import-keepalived [-o F] FILE convert a keepalived.conf to vrrpd YAML (exit 0 whole, 3 with losses, 1 refused)
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vrrpctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	sock := fs.String("s", config.DefaultControlSocket, "vrrpd control `socket`")
	showVersion := fs.Bool("version", false, "print the version and exit")
	// Exit status (vrrpctl(8)): 0 for -h, 2 for a bad command line.
	if err := fs.Parse(args); err != nil {
		return cli.ExitCode(cli.FlagError(err))
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String("vrrpctl"))
		return 0
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "import-keepalived" { // works offline: no socket
		return importKeepalived(ctx, rest, stdout, stderr)
	}
	sub := flag.NewFlagSet("vrrpctl "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	asJSON := sub.Bool("json", false, "print JSON")
	if err := sub.Parse(rest); err != nil {
		return cli.ExitCode(cli.FlagError(err))
	}
	rest = sub.Args()
	fail := func(err error) int { fmt.Fprintln(stderr, "vrrpctl:", err); return 1 }
	switch cmd {
	case "status":
		resp, err := control.Do(*sock, control.Request{Command: control.CmdStatus})
		if err != nil {
			return fail(err)
		}
		if *asJSON {
			return printJSON(stdout, resp.Instances)
		}
		control.FormatStatus(stdout, resp, time.Now())
		if resp.BalancerTable != "" {
			fmt.Fprintln(stdout)
			fmt.Fprint(stdout, resp.BalancerTable)
		}
	case "maintenance":
		if len(rest) != 2 || (rest[0] != "on" && rest[0] != "off") {
			fmt.Fprint(stderr, "usage: vrrpctl maintenance on|off INSTANCE\n")
			return 2
		}
		resp, err := control.Do(*sock, control.Request{Command: control.CmdMaintenance, Instance: rest[1], On: rest[0] == "on"})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, resp.Message)
	case "reload":
		resp, err := control.Do(*sock, control.Request{Command: control.CmdReload})
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(stdout, resp.Message)
	case "balancer":
		resp, err := control.Do(*sock, control.Request{Command: control.CmdBalancer})
		if err != nil {
			return fail(err)
		}
		switch {
		case *asJSON && resp.Balancer != nil:
			stdout.Write(resp.Balancer)
			fmt.Fprintln(stdout)
		case resp.BalancerTable != "":
			fmt.Fprint(stdout, resp.BalancerTable)
		default:
			fmt.Fprintln(stdout, resp.Message)
		}
	case "events":
		err := control.Events(ctx, *sock, func(ev router.InstanceEvent, raw []byte) bool {
			if *asJSON {
				fmt.Fprintf(stdout, "%s\n", raw)
			} else {
				fmt.Fprintln(stdout, formatEvent(ev))
			}
			return true
		})
		if err != nil {
			return fail(err)
		}
	default:
		fmt.Fprintf(stderr, "vrrpctl: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
	return 0
}

func printJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return 1
	}
	return 0
}

func formatEvent(ev router.InstanceEvent) string {
	if ev.Kind == control.EventSubscribed {
		return ev.Time.Format(time.RFC3339Nano) + " following vrrpd's events"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s", ev.Time.Format(time.RFC3339Nano), ev.Instance, ev.Kind)
	if ev.Kind == "transition" {
		fmt.Fprintf(&b, " %s -> %s (%s)", ev.From, ev.To, ev.Reason)
	}
	fmt.Fprintf(&b, " priority %d", ev.Priority)
	if ev.Detail != "" {
		fmt.Fprintf(&b, " %s", ev.Detail)
	}
	return b.String()
}
