package store

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/mariadbtest"
)

// BenchmarkGaleraCost measures what the Galera tier costs against one MariaDB server, in the same run
// and over the same kind of path: every server in a namespace of its own on one switch, every store
// connecting over veth from a database node's namespace (chat1 beside db1, chat2 beside db2).
//
//	go test -run '^$' -bench GaleraCost -benchtime 3000x ./chatd/store/
//
// commit: 64 appenders on one store, closed loop; msgs/s is the commit rate. crossnode: one store
// appends 1,000 messages/s (open loop), another store's Tail (polled every millisecond) receives them;
// p50-ms and p99-ms are append-call-to-receipt latency. The tiers: "mariadb" one server with
// innodb_flush_log_at_trx_commit=1 (the lab's and the paper's single server), "mariadb-flush2" the same
// server setting as the Galera nodes (=2), "galera" the three-node cluster.
func BenchmarkGaleraCost(b *testing.B) {
	c := mariadbtest.StartClusterT(b, mariadbtest.ClusterOptions{Database: "chat"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dsns := map[string]func(from int) string{}
	for i, flush := range []string{"1", "2"} {
		h, err := c.Lab().Host(fmt.Sprintf("single%d", i+1))
		if err != nil {
			b.Fatal(err)
		}
		addr := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 6, byte(9 + i)}), 24)
		if _, err := c.Lab().Link(h, c.Switch(), "eth0", addr); err != nil {
			b.Fatal(err)
		}
		srv, err := mariadbtest.Launch(ctx, mariadbtest.Options{Dir: b.TempDir(), Addr: addr.Addr().String() + ":3306",
			Command: []string{"ip", "netns", "exec", h.Namespace()}, Database: "chat",
			ExtraArgs: []string{"--innodb-buffer-pool-size=32M", "--innodb_flush_log_at_trx_commit=" + flush}})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { srv.Stop() })
		name := "mariadb"
		if flush == "2" {
			name = "mariadb-flush2"
		}
		dsns[name] = func(from int) string {
			return fmt.Sprintf("mysql://chatd:chatd-pass@%s(%s)/chat", mariadbtest.DialNet(c.Nodes[from].Host), srv.Addr)
		}
	}
	dsns["galera"] = func(from int) string { return "galera://" + c.ClientDSN(c.Nodes[from].Host, "chat") }
	for _, tier := range []string{"mariadb", "mariadb-flush2", "galera"} {
		b.Run("commit/"+tier, func(b *testing.B) { benchCommit64(b, dsns[tier](0)) })
		b.Run("crossnode/"+tier, func(b *testing.B) { benchCrossNode(b, dsns[tier](0), dsns[tier](1)) })
	}
}

func benchCommit64(b *testing.B, dsn string) {
	s := open(b, dsn)
	ctx := testCtx(b)
	const senders = 64
	var next sync.Mutex
	left := b.N
	b.ResetTimer()
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				if left == 0 {
					next.Unlock()
					return
				}
				left--
				next.Unlock()
				if err := s.Append(ctx, benchEvent("n0")); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	report(b, s)
}

func benchCrossNode(b *testing.B, dsnA, dsnB string) {
	a, r := open(b, dsnA), open(b, dsnB)
	ctx := testCtx(b)
	head, err := r.Head(ctx)
	if err != nil {
		b.Fatal(err)
	}
	var mu sync.Mutex
	sentAt := map[string]time.Time{}
	var lat []time.Duration
	done := make(chan struct{})
	go func() { // the receiving node's tailer
		defer close(done)
		cur := head
		for len(lat) < b.N {
			evs, next, err := r.Tail(ctx, cur, 1000)
			if err != nil {
				b.Error(err)
				return
			}
			now := time.Now()
			mu.Lock()
			for _, ev := range evs {
				if t, ok := sentAt[ev.MsgID]; ok {
					lat = append(lat, now.Sub(t))
				}
			}
			mu.Unlock()
			cur = next
			if len(evs) == 0 {
				time.Sleep(time.Millisecond) // the poll interval of this tailer
			}
		}
	}()
	b.ResetTimer()
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < b.N; i++ {
		// 1,000 messages/s on a schedule: a sender that fell behind (a busy machine) catches up, so the
		// offered rate holds on average.
		if d := time.Until(start.Add(time.Duration(i) * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
		ev := benchEvent("n0")
		mu.Lock()
		sentAt[ev.MsgID] = time.Now()
		mu.Unlock()
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := a.Append(ctx, ev); err != nil {
				b.Error(err)
			}
		}()
	}
	sendTime := time.Since(start)
	wg.Wait()
	select {
	case <-done:
	case <-ctx.Done():
		b.Fatalf("received %d of %d", len(lat), b.N)
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/sendTime.Seconds(), "offered-msgs/s")
}
