package chatload_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

// A storm of 20 connections at 200/s: each registers, joins one of two
// channels, sends a message, waits for its echo and quits.
func ExampleRunStorm() {
	srv, _ := fakeirc.New(fakeirc.Normal) // any IRC server's host:port will do
	defer srv.Kill()

	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers:  []string{srv.Addr()},
		Conns:    20,
		Rate:     200,
		Messages: 1,
		Channel:  "#load",
		Channels: 2,
		Timeout:  5 * time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("succeeded %d, replies %d, errors %d\n",
		res.Connections.Succeeded, res.Reply.All.Count, res.Errors.Total)
	// Output: succeeded 20, replies 60, errors 0
}

// The paper's Table 1 and Figures 3 and 4 for two setups: run a series per
// setup, then plot them together and print the tables.
func ExampleRunSeries() {
	single, _ := fakeirc.New(fakeirc.Normal)
	defer single.Kill()
	balanced, _ := fakeirc.New(fakeirc.Normal)
	defer balanced.Kill()

	var all []*chatload.Series
	for _, setup := range []struct{ label, addr string }{
		{"single server", single.Addr()},
		{"load balanced", balanced.Addr()},
	} {
		s, err := chatload.RunSeries(context.Background(), chatload.SeriesConfig{
			Base:   chatload.StormConfig{Servers: []string{setup.addr}, Messages: 1, Timeout: 5 * time.Second},
			Points: []chatload.LoadPoint{{Conns: 10, Rate: 100}, {Conns: 20, Rate: 200}},
			Reps:   2,
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		s.Label = setup.label
		all = append(all, s)
	}
	dir, _ := os.MkdirTemp("", "chatload-example")
	defer os.RemoveAll(dir)
	files, err := chatload.PlotSeries(dir, all...)
	fmt.Println(len(files), "plot files,", err)
	for _, s := range all {
		fmt.Printf("%s: %d points, median errors %v and %v\n", s.Label, len(s.Points), s.Points[0].Median.Errors, s.Points[1].Median.Errors)
	}
	// Output:
	// 4 plot files, <nil>
	// single server: 2 points, median errors 0 and 0
	// load balanced: 2 points, median errors 0 and 0
}

// A failover trial: two nodes of one network, six members alternating
// between them, and a hook that kills node a a third into the run. Its
// members reconnect to b and resume with CHATHISTORY; nothing accepted may
// be missing.
func ExampleRunFailover() {
	network := fakeirc.NewNetwork()
	a, _ := network.Listen("a")
	defer a.Kill()
	b, _ := network.Listen("b")
	defer b.Kill()

	res, err := chatload.RunFailover(context.Background(), chatload.FailoverConfig{
		Steady: chatload.SteadyConfig{
			Servers:  []string{a.Addr(), b.Addr()}, // or the one VIP
			Channels: 1, Members: 6, Senders: 2,
			Rate: 50, Duration: 900 * time.Millisecond,
			Timeout: 5 * time.Second,
		},
		CueAfter:     300 * time.Millisecond,
		Hook:         func(context.Context) error { a.Kill(); return nil }, // or chatload.ShellHook("...")
		HookCommand:  "kill node a",
		PingInterval: 100 * time.Millisecond,
		DeadAfter:    time.Second,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("affected %d, reconnected %d, missing %d, verdict %v\n",
		res.Affected, res.Reconnected, res.Missing, res.Check())
	// Output: affected 3, reconnected 3, missing 0, verdict <nil>
}
