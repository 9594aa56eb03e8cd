package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/internal/control"
	"github.com/hachat/hachat/vrrp/router"
)

// errUnknownCommand is a command socketCommand does not know.
var errUnknownCommand = errors.New("unknown command")

// socketCommand runs one command against vrrpd's control socket sock.
func socketCommand(ctx context.Context, sock, cmd string, rest []string, asJSON bool, stdout, stderr io.Writer) error {
	switch cmd {
	case "status":
		resp, err := control.Do(sock, control.Request{Command: control.CmdStatus})
		if err != nil {
			return err
		}
		if asJSON {
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
			return cli.Exit(2)
		}
		resp, err := control.Do(sock, control.Request{Command: control.CmdMaintenance, Instance: rest[1], On: rest[0] == "on"})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, resp.Message)
	case "reload":
		resp, err := control.Do(sock, control.Request{Command: control.CmdReload})
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, resp.Message)
	case "balancer":
		resp, err := control.Do(sock, control.Request{Command: control.CmdBalancer})
		if err != nil {
			return err
		}
		switch {
		case asJSON && resp.Balancer != nil:
			stdout.Write(resp.Balancer)
			fmt.Fprintln(stdout)
		case resp.BalancerTable != "":
			fmt.Fprint(stdout, resp.BalancerTable)
		default:
			fmt.Fprintln(stdout, resp.Message)
		}
	case "events":
		return control.Events(ctx, sock, func(ev router.InstanceEvent, raw []byte) bool {
			if asJSON {
				fmt.Fprintf(stdout, "%s\n", raw)
			} else {
				fmt.Fprintln(stdout, control.FormatEvent(ev))
			}
			return true
		})
	default:
		return errUnknownCommand
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return cli.Exit(1)
	}
	return nil
}
