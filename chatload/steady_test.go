package chatload_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

// twoNodes starts a fake network with two nodes, like two chat servers
// sharing one database.
func twoNodes(t *testing.T) (*fakeirc.Network, *fakeirc.Node, *fakeirc.Node) {
	t.Helper()
	n := fakeirc.NewNetwork()
	a, err := n.Listen("a.fake")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Kill)
	b, err := n.Listen("b.fake")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Kill)
	return n, a, b
}

func TestSteadyAcrossNodesDeliversEverything(t *testing.T) {
	net, a, b := twoNodes(t)
	res, err := chatload.RunSteady(context.Background(), chatload.SteadyConfig{
		Servers:  []string{a.Addr(), b.Addr()},
		Channels: 2, Members: 4, Senders: 2,
		Rate: 200, Duration: 300 * time.Millisecond,
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	// 200/s × 0.3 s = 60 messages; each owes 3 other members a copy.
	got := map[string]int64{
		"clients": int64(res.Clients), "sent": res.Sent, "skipped": res.Skipped,
		"expected": res.Expected, "delivered": res.Delivered, "lost": res.Lost,
		"dups": res.Duplicates, "fanout": res.Fanout.Count, "echo": res.Echo.Count,
		"same+cross":     res.FanoutSameNode.Count + res.FanoutCrossNode.Count,
		"fake delivered": net.Delivered.Load(),
	}
	want := map[string]int64{
		"clients": 8, "sent": 60, "skipped": 0, "expected": 180, "delivered": 180, "lost": 0,
		"dups": 0, "fanout": 180, "echo": 60, "same+cross": 180,
		// the fake also delivers the two probes to 3 members each
		"fake delivered": 186,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts (-want +got):\n%s", diff)
	}
	if !res.BarrierOK {
		t.Error("barrier not reached")
	}
	// Members alternate nodes, so both same-node and cross-node
	// deliveries exist.
	if res.FanoutSameNode.Count == 0 || res.FanoutCrossNode.Count == 0 {
		t.Errorf("same %d cross %d: want both", res.FanoutSameNode.Count, res.FanoutCrossNode.Count)
	}
	var md bytes.Buffer
	if err := res.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| delivered / expected | 180 / 180 |") {
		t.Errorf("markdown: %v\n%s", err, md.String())
	}
	if files, err := chatload.PlotSteady(t.TempDir(), res); err != nil || len(files) != 2 {
		t.Errorf("PlotSteady: %v %v", files, err)
	}
}

func TestSteadyCountsLossWhenServerDropsMessages(t *testing.T) {
	nd := startFake(t, fakeirc.NoEcho)
	res, err := chatload.RunSteady(context.Background(), chatload.SteadyConfig{
		Servers: []string{nd.Addr()}, Channels: 1, Members: 3, Senders: 1,
		Rate: 100, Duration: 100 * time.Millisecond, Timeout: 300 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Expected != 20 || res.Lost != 20 || res.Delivered != 0 {
		t.Errorf("sent %d expected %d lost %d delivered %d, want 10 20 20 0", res.Sent, res.Expected, res.Lost, res.Delivered)
	}
	if res.BarrierOK {
		t.Error("barrier reported OK though the server delivers nothing")
	}
}

func TestSteadyRejectsBadConfig(t *testing.T) {
	for _, c := range []chatload.SteadyConfig{
		{Members: 2, Rate: 1, Duration: time.Second},
		{Servers: []string{"x:1"}, Members: 1, Rate: 1, Duration: time.Second},
		{Servers: []string{"x:1"}, Members: 2, Senders: 5, Rate: 1, Duration: time.Second},
		{Servers: []string{"x:1"}, Members: 2, Duration: time.Second},
		{Servers: []string{"x:1"}, Members: 2, Rate: 1},
		{Servers: []string{"nohostport"}, Members: 2, Rate: 1, Duration: time.Second},
	} {
		if _, err := chatload.RunSteady(context.Background(), c); err == nil {
			t.Errorf("RunSteady(%+v) = nil error", c)
		}
	}
}

// TestSteadyCountsConnectionsLostMidRun kills one of two nodes once the run
// is under way: a steady run does not reconnect, so the break is counted
// and the deliveries owed to those members show as lost.
func TestSteadyCountsConnectionsLostMidRun(t *testing.T) {
	_, a, b := twoNodes(t)
	var once sync.Once
	res, err := chatload.RunSteady(context.Background(), chatload.SteadyConfig{
		Servers:  []string{a.Addr(), b.Addr()},
		Channels: 1, Members: 4, Senders: 1, // the sender (member 0) sits on a
		Rate: 100, Duration: 600 * time.Millisecond, Timeout: 2 * time.Second,
		Progress: func(p chatload.Progress) {
			if p.Phase == "steady" && p.Done >= 3 {
				once.Do(func() { go b.Kill() }) // members 1 and 3 sit on b
			}
		},
		ProgressInterval: 10 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Disconnects.Total != 2 || res.Disconnects.ConnReset != 2 {
		t.Errorf("disconnects %+v (%v), want 2 connreset", res.Disconnects, res.DisconnectSamples)
	}
	if res.Lost == 0 || !hasWarning(res.Warnings, "lost their connection") {
		t.Errorf("lost %d warnings %q", res.Lost, res.Warnings)
	}
}

func TestSteadyWithoutAnyClientFailsCheck(t *testing.T) {
	addr, err := fakeirc.RefusingAddr()
	if err != nil {
		t.Fatal(err)
	}
	cfg := chatload.SteadyConfig{Servers: []string{addr}, Members: 3, Rate: 10, Duration: 100 * time.Millisecond, Timeout: time.Second}
	res, err := chatload.RunSteady(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); !errors.Is(err, chatload.ErrNoClients) || !strings.Contains(err.Error(), "3 connrefused") {
		t.Errorf("Check = %v, want ErrNoClients naming 3 connrefused", err)
	}
	if res.SetupErrors.ConnRefused != 3 || res.DurationS < 0.1 {
		t.Errorf("result %+v", res)
	}
	fr, err := chatload.RunFailover(context.Background(), chatload.FailoverConfig{Steady: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := fr.Check(); !errors.Is(err, chatload.ErrNoClients) {
		t.Errorf("failover Check = %v", err)
	}
}
