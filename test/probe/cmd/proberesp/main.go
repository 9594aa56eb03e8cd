// Command proberesp is the server side of the outage probe: it answers every
// TCP connection with its name and a newline (see package probe). Run it in
// each balancer's namespace on the wildcard address, so it answers on the
// virtual address exactly while that host holds it:
//
//	ip netns exec NS proberesp -listen :7000 -name lb1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/test/probe"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "proberesp:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("proberesp", flag.ContinueOnError)
	listen := fs.String("listen", ":7000", "TCP address to listen on")
	host, _ := os.Hostname()
	name := fs.String("name", host, "name sent to every client")
	if err := fs.Parse(args); err != nil {
		return err
	}
	s, err := probe.Listen(*listen, *name)
	if err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}
