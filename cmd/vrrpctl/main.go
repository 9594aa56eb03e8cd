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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	code := cli.Report(os.Stderr, "vrrpctl", run(ctx, os.Args[1:], os.Stdout, os.Stderr))
	stop()
	os.Exit(code)
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

// run parses the command line (exit statuses of vrrpctl(8)) and runs one
// command: import-keepalived offline, the others over the control socket.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vrrpctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	sock := fs.String("s", config.DefaultControlSocket, "vrrpd control `socket`")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		return cli.FlagError(err)
	}
	if *showVersion {
		fmt.Fprintln(stdout, buildinfo.String("vrrpctl"))
		return nil
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return cli.Exit(2)
	}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	if cmd == "import-keepalived" { // works offline: no socket
		return cli.Exit(importKeepalived(ctx, rest, stdout, stderr))
	}
	sub := flag.NewFlagSet("vrrpctl "+cmd, flag.ContinueOnError)
	sub.SetOutput(stderr)
	asJSON := sub.Bool("json", false, "print JSON")
	if err := sub.Parse(rest); err != nil {
		return cli.FlagError(err)
	}
	err := socketCommand(ctx, *sock, cmd, sub.Args(), *asJSON, stdout, stderr)
	if err == errUnknownCommand {
		fmt.Fprintf(stderr, "vrrpctl: unknown command %q\n", cmd)
		fs.Usage()
		return cli.Exit(2)
	}
	return err
}
