package netns_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"syscall"

	"github.com/hachat/hachat/test/netns"
)

// A program (not a test) builds a two-host lab, serves on one host from
// in-process Go code, dials it from the other, and removes everything on
// exit, including on SIGINT/SIGTERM.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	lab, err := netns.New(ctx, "demo")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	defer lab.Close() // idempotent: safe to call again from a signal path

	sw, _ := lab.Switch("sw")
	srv, _ := lab.Host("srv")
	cli, _ := lab.Host("cli")
	lab.Link(srv, sw, "eth0", netip.MustParsePrefix("198.18.0.1/24"))
	lab.Link(cli, sw, "eth0", netip.MustParsePrefix("198.18.0.2/24"))

	var ln net.Listener
	srv.Do(func() (err error) { ln, err = net.Listen("tcp", "198.18.0.1:7000"); return err })
	go func() {
		c, _ := ln.Accept()
		fmt.Fprintln(c, "hello from srv")
		c.Close()
	}()
	cli.Do(func() error {
		c, err := net.Dial("tcp", "198.18.0.1:7000")
		if err != nil {
			return err
		}
		defer c.Close()
		line, _ := bufio.NewReader(c).ReadString('\n')
		fmt.Print(line)
		return nil
	})

	// A daemon, by recorded PID, with its output in lab.Dir()/srv/sleeper.log.
	p, _ := srv.Start(ctx, "sleeper", "sleep", "60")
	p.Kill9()
	sw.PortDown(cli) // pull the client's cable at the switch
}
