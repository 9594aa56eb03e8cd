package main

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/internal/mariadbtest"
)

func freeUDP() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// benchCrossNode runs two nodes on one MariaDB and measures send-to-receive
// latency from a sender on node A to receivers on A (local) and B (remote).
func benchCrossNode(rate float64, senders int, d time.Duration, nudge bool, poll time.Duration, dbArgs []string) error {
	if rate <= 0 {
		rate = 1000
	}
	if reason := mariadbtest.SkipReason(); reason != "" {
		return fmt.Errorf("crossnode needs MariaDB: %s", reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	db, err := mariadbtest.Launch(ctx, mariadbtest.Options{Database: "bench", ExtraArgs: dbArgs})
	if err != nil {
		return err
	}
	defer db.Stop()
	fmt.Printf("MariaDB extra args %q\n", dbArgs)
	return crossNode("two nodes on one MariaDB", db.DSN("bench"), "", db.DSN("bench"), "", rate, senders, d, nudge, poll)
}

// crossNode runs node-a on dsnA and node-b on dsnB (each dialing its database from inside namespace
// nsA / nsB when not empty) and measures send-to-receive latency from senders on A to a receiver on A
// and one on B.
func crossNode(label, dsnA, nsA, dsnB, nsB string, rate float64, senders int, d time.Duration, nudge bool, poll time.Duration) error {
	ua, err := freeUDP()
	if err != nil {
		return err
	}
	ub, err := freeUDP()
	if err != nil {
		return err
	}
	ca, cb := benchConfig("node-a"), benchConfig("node-b")
	for _, c := range []*struct {
		cfg        *chatd.Config
		self, peer string
		dsn        string
	}{{&ca, ua, ub, dsnA}, {&cb, ub, ua, dsnB}} {
		c.cfg.DSN = c.dsn
		c.cfg.Timers.TailPoll = poll
		if nudge {
			c.cfg.NudgeListen = c.self
			c.cfg.Peers = []string{c.peer}
		}
	}
	a, err := startServerIn(ca, nsA)
	if err != nil {
		return err
	}
	defer a.stop()
	b, err := startServerIn(cb, nsB)
	if err != nil {
		return err
	}
	defer b.stop()
	var sendConns []*ircConn
	for i := range senders {
		c, err := dialIRC(a.addr, 10+i, fmt.Sprintf("sender%d", i), "")
		if err != nil {
			return err
		}
		if err := c.join("#x"); err != nil {
			return err
		}
		sendConns = append(sendConns, c)
	}
	local, err := dialIRC(a.addr, 1, "local", "")
	if err != nil {
		return err
	}
	remote, err := dialIRC(b.addr, 2, "remote", "")
	if err != nil {
		return err
	}
	for _, c := range []*ircConn{local, remote} {
		if err := c.join("#x"); err != nil {
			return err
		}
	}
	rl, rr := newReceiver(), newReceiver()
	rl.seen, rr.seen = map[int64]struct{}{}, map[int64]struct{}{}
	go rl.read(local)
	go rr.read(remote)
	var stop atomic.Bool
	var sent atomic.Int64
	for _, c := range sendConns {
		go newReceiver().read(c) // drains the senders' own copies
		go sendLoop(c, "#x", rate/float64(senders), &stop, &sent, nil)
	}
	time.Sleep(time.Second)
	rl.on.Store(true)
	rr.on.Store(true)
	sent0 := sent.Load()
	time.Sleep(d)
	rl.on.Store(false)
	rr.on.Store(false)
	stop.Store(true)
	fmt.Printf("%s, nudge %v, tail poll %v, %d senders on node-a, %.0f msg/s in total for %v (%d sent); load average %s\n",
		label, nudge, poll, senders, rate, d, sent.Load()-sent0, loadAvg())
	for _, x := range []struct {
		name string
		r    *receiver
	}{{"same node (A->A)", rl}, {"cross node (A->B)", rr}} {
		h := x.r.hist
		fmt.Printf("%s: %d received (%d duplicates), p50 %s, p90 %s, p99 %s, max %s\n", x.name, h.TotalCount(), x.r.dups.Load(),
			ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.Max()))
	}
	return nil
}
