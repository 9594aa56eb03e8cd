package againstchatd_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hachat/hachat/chatd"
	"github.com/hachat/hachat/chatd/store"
	"github.com/hachat/hachat/chatload"
)

var seq atomic.Int64

type node struct {
	srv    *chatd.Server
	cancel context.CancelFunc
	done   chan struct{} // closed when Run returns
}

// stop cancels the node like a crash of its process would end its
// connections, and waits for Run to return.
func (n *node) stop(t *testing.T) {
	n.cancel()
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Errorf("chatd node did not stop")
	}
}

// startChatd runs a chatd node on 127.0.0.1:0 on store st (shared by the
// nodes of one test, like the MySQL database of a cluster).
func startChatd(t *testing.T, st store.Store) *node {
	t.Helper()
	return startChatdWith(t, st, func(*chatd.Config) {})
}

func startChatdWith(t *testing.T, st store.Store, mod func(*chatd.Config)) *node {
	t.Helper()
	cfg := chatd.Config{
		Node:   fmt.Sprintf("it%d", seq.Add(1)),
		Listen: []string{"127.0.0.1:0"},
		// No flood control or client cap: chatload is the only client, and
		// its loopback network is exempt from the per-IP limits.
		Limits: chatd.Limits{FloodRate: -1, MaxClients: -1, ExemptNetworks: []string{"127.0.0.0/8"}},
		Timers: chatd.Timers{Heartbeat: 100 * time.Millisecond, DeadAfter: 600 * time.Millisecond,
			LameduckDrain: 10 * time.Millisecond, LameduckGrace: 5 * time.Second},
	}
	mod(&cfg)
	srv, err := chatd.NewWithStore(cfg, nil, st)
	if err != nil {
		t.Fatalf("chatd: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &node{srv: srv, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(n.done)
		if err := srv.Run(ctx); err != nil {
			t.Errorf("chatd Run: %v", err)
		}
	}()
	t.Cleanup(func() { n.stop(t) })
	deadline := time.Now().Add(10 * time.Second)
	for !srv.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("chatd not ready")
		}
		time.Sleep(2 * time.Millisecond) // polling Ready, bounded by the deadline
	}
	return n
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := store.Open(ctx, "sqlite::memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStormAgainstChatd(t *testing.T) {
	n := startChatd(t, openStore(t))
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers: []string{n.srv.Addr().String()}, Conns: 100, Rate: 200, Messages: 2,
		Channel: "#storm", Channels: 5, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Errors.Total != 0 {
		t.Fatalf("errors %+v: %v", res.Errors, res.ErrorSamples)
	}
	if res.Connections.Succeeded != 100 || res.Reply.Register.Count != 100 ||
		res.Reply.Join.Count != 100 || res.Reply.Message.Count != 200 {
		t.Errorf("succeeded %d register %d join %d message %d, want 100 100 100 200",
			res.Connections.Succeeded, res.Reply.Register.Count, res.Reply.Join.Count, res.Reply.Message.Count)
	}
	if res.NetIO.RecvBytes == 0 || res.NetIO.SentBytes == 0 {
		t.Errorf("net I/O %+v", res.NetIO)
	}
}

func TestSteadyAcrossTwoChatdNodes(t *testing.T) {
	st := openStore(t)
	a, b := startChatd(t, st), startChatd(t, st)
	res, err := chatload.RunSteady(context.Background(), chatload.SteadyConfig{
		Servers:  []string{a.srv.Addr().String(), b.srv.Addr().String()},
		Channels: 2, Members: 6, Senders: 2, Rate: 40, Duration: time.Second,
		// Generous: the drain ends as soon as everything arrived, and chatd
		// on modernc SQLite under -race on a loaded box can lag seconds.
		Timeout: 30 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.BarrierOK || res.Clients != 12 {
		t.Fatalf("barrier %v clients %d warnings %q", res.BarrierOK, res.Clients, res.Warnings)
	}
	if res.Sent != 40 || res.Lost != 0 || res.Duplicates != 0 || res.Delivered != 200 {
		t.Errorf("sent %d delivered %d lost %d dups %d, want 40 200 0 0; disconnects %+v %v; drops %v",
			res.Sent, res.Delivered, res.Lost, res.Duplicates, res.Disconnects, res.DisconnectSamples, res.Drops)
	}
	if res.FanoutCrossNode.Count == 0 {
		t.Error("no cross-node delivery measured")
	}
}

// TestFailoverChatdNodeStops stops one of two nodes mid-run: its clients
// reconnect to the other and resume with CHATHISTORY; nothing accepted may
// be missing.
func TestFailoverChatdNodeStops(t *testing.T) {
	st := openStore(t)
	a, b := startChatd(t, st), startChatd(t, st)
	res, err := chatload.RunFailover(context.Background(), chatload.FailoverConfig{
		Steady: chatload.SteadyConfig{
			Servers:  []string{a.srv.Addr().String(), b.srv.Addr().String()},
			Channels: 1, Members: 6, Senders: 2, Rate: 40, Duration: 1500 * time.Millisecond,
			Timeout: 10 * time.Second,
		},
		CueAfter:     500 * time.Millisecond,
		Hook:         func(context.Context) error { a.stop(t); return nil },
		HookCommand:  "stop node a",
		PingInterval: 100 * time.Millisecond,
		DeadAfter:    2 * time.Second,
		Drain:        30 * time.Second,
		Backoff:      100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("affected %d reconnected %d outage avg %.1f ms recovered %d dups %d unconfirmed %d reconnect errors %+v",
		res.Affected, res.Reconnected, res.Outage.Avg, res.RecoveredByHistory, res.Duplicates, res.Unconfirmed, res.ReconnectErrors)
	if res.Affected != 3 || res.Reconnected != 3 || res.NotReconnected != 0 {
		t.Errorf("affected %d reconnected %d still down %d, want 3 3 0", res.Affected, res.Reconnected, res.NotReconnected)
	}
	if res.Missing != 0 {
		t.Errorf("missing %d: %v", res.Missing, res.MissingSamples)
	}
	if res.ResumeUnsupported != 0 || res.ResumeFailures != 0 {
		t.Errorf("resume unsupported %d failures %d", res.ResumeUnsupported, res.ResumeFailures)
	}
	// CHATLOAD_PLOT_DIR keeps the figure for a human to look at.
	dir := os.Getenv("CHATLOAD_PLOT_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	if _, err := chatload.PlotFailover(dir, res); err != nil {
		t.Error(err)
	}
}

// TestStormOverChatdClientLimit: chatd admits 5 clients and turns the rest
// away with ERROR. The 5 held connections succeed, the 5 others fail at
// registration, as other (the ERROR line was read) or connreset (chatd
// closed with the client's NICK/USER unread, so the kernel sent a RST that
// overtook the ERROR line).
func TestStormOverChatdClientLimit(t *testing.T) {
	n := startChatdWith(t, openStore(t), func(c *chatd.Config) { c.Limits.MaxClients = 5 })
	res, err := chatload.RunStorm(context.Background(), chatload.StormConfig{
		Servers: []string{n.srv.Addr().String()}, Conns: 10, Rate: 1000,
		Hold: 3 * time.Second, Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Connections.Succeeded != 5 || res.Connections.Failed != 5 {
		t.Fatalf("connections %+v, want 5 ok and 5 failed (%v)", res.Connections, res.ErrorSamples)
	}
	if res.Errors.Other+res.Errors.ConnReset != 5 || res.ErrorsByPhase[chatload.PhaseRegister] != 5 {
		t.Errorf("errors %+v by phase %v, want 5 other/connreset at register", res.Errors, res.ErrorsByPhase)
	}
}
