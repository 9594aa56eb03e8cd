package chatd

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd/store"
	"github.com/hachat/hachat/internal/mariadbtest"
)

// TestGaleraMinorityFailsThenResumes (IRCv3 standard replies, FAIL; chatd/store/doc.go, "Galera"): two
// chat nodes on a three-node Galera cluster, chat1 beside db1 and chat3 beside db3. Cut off with db3,
// chat3 answers a PRIVMSG with FAIL PRIVMSG MESSAGE_ERROR while chat1 goes on; healed, chat3 delivers
// again, and CHATHISTORY on both nodes pages through the same messages in the same order, without the
// refused one.
func TestGaleraMinorityFailsThenResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Galera cluster; skipped in -short mode")
	}
	c := mariadbtest.StartClusterT(t, mariadbtest.ClusterOptions{Database: "chat"})
	db1, db3 := c.Nodes[0], c.Nodes[2]
	node := func(name string, beside *mariadbtest.Node) *testNode {
		cfg := testConfig(name)
		cfg.DSN = "galera://" + c.ClientDSN(beside.Host, "chat") + "?galera_wait=2s&galera_probe=100ms"
		// The partition lasts seconds: the other node must not declare this one dead meanwhile.
		cfg.Timers.Heartbeat, cfg.Timers.DeadAfter = time.Second, time.Minute
		return startNode(t, cfg, nil)
	}
	chat1, chat3 := node("chat1", db1), node("chat3", db3)
	bob := dial(t, chat1.Addr(), "bob")
	bob.register("bob", allCaps...)
	alice := dial(t, chat3.Addr(), "alice")
	alice.register("alice", allCaps...)
	bob.join("#load")
	alice.join("#load")
	bob.expectCmd("JOIN", "#load")
	alice.send("PRIVMSG #load :before")
	alice.expectCmd("PRIVMSG", "#load", "before")
	bob.expectCmd("PRIVMSG", "#load", "before")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := db3.Partition(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db3.WaitStatus(ctx, "non-Primary", func(s mariadbtest.Status) bool { return s.ClusterStatus != "Primary" }); err != nil {
		t.Fatal(err)
	}
	waitWriter(ctx, t, chat3.st, "")
	alice.send("PRIVMSG #load :refused")
	alice.expectCmd("FAIL", "PRIVMSG", "MESSAGE_ERROR", "#load")
	if n := gatheredCounter(t, chat3, "chatd_galera_no_writer_total"); n < 1 {
		t.Errorf("chatd_galera_no_writer_total = %v after a refused write, want >= 1", n)
	}
	bob.send("PRIVMSG #load :majority")
	bob.expectCmd("PRIVMSG", "#load", "majority")

	if err := db3.Heal(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitSize(ctx, 3); err != nil {
		t.Fatal(err)
	}
	waitWriter(ctx, t, chat3.st, db1.Addr)
	alice.expectCmd("PRIVMSG", "#load", "majority") // chat3's tailer catches up
	alice.send("PRIVMSG #load :after")
	alice.expectCmd("PRIVMSG", "#load", "after")
	bob.expectCmd("PRIVMSG", "#load", "after")

	h1 := fetchHistory(t, bob, "timestamp=2000-01-01T00:00:00.000Z")
	h3 := fetchHistory(t, alice, "timestamp=2000-01-01T00:00:00.000Z")
	if len(h1) != 3 || !slices.Equal(h1, h3) {
		t.Fatalf("CHATHISTORY on chat1 %q, on chat3 %q: want the same 3 messages", h1, h3)
	}
	for _, n := range c.Nodes {
		ids, err := n.Query(ctx, "chat", "SELECT msgid FROM events WHERE hkey = '#load' AND kind = 'PRIVMSG' ORDER BY seq")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, h1) {
			t.Errorf("%s holds %q, CHATHISTORY said %q", n.Name, ids, h1)
		}
		refused, err := n.Query(ctx, "chat", "SELECT COUNT(*) FROM events WHERE body = 'refused'")
		if err != nil || refused[0] != "0" {
			t.Errorf("%s: the refused message is stored (%v, %v)", n.Name, refused, err)
		}
	}
}

// waitWriter waits until st's health checks elect the writer addr ("" for none).
func waitWriter(ctx context.Context, t *testing.T, st store.Store, addr string) {
	t.Helper()
	for {
		gs, _ := store.GaleraStatsOf(st)
		if gs.Writer == addr {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("writer is %q, waited for %q: %v", gs.Writer, addr, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// gatheredCounter reads a counter by name from the node's metrics registry.
func gatheredCounter(t *testing.T, n *testNode, name string) float64 {
	t.Helper()
	mfs, err := n.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}
