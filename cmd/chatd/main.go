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

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
)

// stdin is where -hash-password reads the password (a test replaces it).
var stdin io.Reader = os.Stdin

func main() {
	os.Exit(cli.Report(os.Stderr, "chatd", run(context.Background(), os.Args[1:], os.Stdout, os.Stderr)))
}

// run parses args, builds the configuration and serves until a signal.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("chatd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	o.register(fs)
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
	if o.showVersion {
		fmt.Fprintln(stdout, buildinfo.String("chatd"))
		return nil
	}
	if o.hashPassword {
		return printHash(stdin, stdout)
	}
	cfg, err := o.loadConfig()
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
	srv, err := chatd.New(cfg, logger)
	if err != nil {
		return err
	}
	srv.SetReloader(o.loadConfig)
	return serve(ctx, srv, cfg, logger)
}
