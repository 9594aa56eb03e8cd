package chatload_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/chatload/fakeirc"
)

// failoverConfig: 6 members in one channel alternate between nodes a and b;
// members 0 and 1 send. At 300 ms the hook kills a while b turns new
// connections away (ERROR), waits until b has stored 3 more channel
// messages (from member 1, on b), then lets clients in again: a's members
// are sure to have missed those 3 and must fetch them by CHATHISTORY, in
// pages of 3.
func failoverConfig(n *fakeirc.Network, a, b *fakeirc.Node) chatload.FailoverConfig {
	return chatload.FailoverConfig{
		Steady: chatload.SteadyConfig{
			Servers:  []string{a.Addr(), b.Addr()},
			Channels: 1, Members: 6, Senders: 2,
			Rate: 100, Duration: 900 * time.Millisecond,
			Timeout: 5 * time.Second,
		},
		CueAfter:     300 * time.Millisecond,
		Hook:         gapHook(n, a, b, 3),
		HookCommand:  "kill node a, hold b shut for 3 messages",
		PingInterval: 100 * time.Millisecond,
		DeadAfter:    time.Second,
		Drain:        5 * time.Second,
		HistoryLimit: 3,
		Backoff:      20 * time.Millisecond,
	}
}

// gapHook kills a and keeps b closed to new clients until b's channel
// history grew by k messages, waiting for that event with a deadline.
func gapHook(n *fakeirc.Network, a, b *fakeirc.Node, k int) func(context.Context) error {
	return func(ctx context.Context) error {
		b.SetMode(fakeirc.RefuseError)
		defer b.SetMode(fakeirc.Normal)
		chans := n.Channels()
		if len(chans) != 1 {
			return fmt.Errorf("want one channel with history, have %v", chans)
		}
		before := n.HistoryLen(chans[0])
		a.Kill()
		deadline := time.Now().Add(10 * time.Second)
		for n.HistoryLen(chans[0]) < before+k {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("history did not grow by %d", k)
			}
			time.Sleep(5 * time.Millisecond) // polling the event, bounded by the deadline
		}
		return nil
	}
}

func TestFailoverKillNodeResumesWithoutLoss(t *testing.T) {
	net, a, b := twoNodes(t)
	res, err := chatload.RunFailover(context.Background(), failoverConfig(net, a, b))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hook.Ran || res.Hook.Error != "" {
		t.Fatalf("hook %+v", res.Hook)
	}
	if res.Affected != 3 || res.Reconnected != 3 || res.NotReconnected != 0 {
		t.Errorf("affected %d reconnected %d still down %d, want 3 3 0", res.Affected, res.Reconnected, res.NotReconnected)
	}
	if err := res.Check(); err != nil {
		t.Errorf("Check: %v (missing %v)", err, res.MissingSamples)
	}
	// Each of the 3 reconnecting members missed at least the 3 messages b
	// stored while it was shut.
	if res.RecoveredByHistory < 9 {
		t.Errorf("recovered %d by CHATHISTORY, want >= 9", res.RecoveredByHistory)
	}
	// Messages that arrive live between the rejoin and the history reply
	// come twice (at-least-once); msgids are stable, so both counts agree.
	if res.Duplicates != res.DuplicatesByBody {
		t.Errorf("duplicates by msgid %d by body %d, want equal", res.Duplicates, res.DuplicatesByBody)
	}
	if res.Outage.Count != 3 || res.Reconnect.Count != 3 || res.Resume.Count != 3 || res.Detect.Count != 3 {
		t.Errorf("outage/reconnect/resume/detect counts %d/%d/%d/%d, want 3 each",
			res.Outage.Count, res.Reconnect.Count, res.Resume.Count, res.Detect.Count)
	}
	if len(res.Outages) != 3 {
		t.Errorf("%d outages listed, want 3", len(res.Outages))
	}
	for _, o := range res.Outages {
		if !o.Recovered || o.FromServer != a.Addr() || o.ToServer != b.Addr() || o.Attempts < 2 || o.OutageMs < o.ReconnectMs {
			t.Errorf("outage %+v, want recovered from a to b", o)
		}
	}
	if res.DisconnectCauses.ConnReset != 3 || res.DisconnectCauses.Total != 3 {
		t.Errorf("disconnect causes %+v, want 3 connreset (the kill sends RSTs)", res.DisconnectCauses)
	}
	// Every reconnect first tried dead node a.
	if res.ReconnectErrors.ConnRefused < 3 {
		t.Errorf("reconnect errors %+v, want >= 3 connrefused from node a", res.ReconnectErrors)
	}
	if res.Accepted == 0 || res.Accepted > res.Steady.Sent {
		t.Errorf("accepted %d of %d sent", res.Accepted, res.Steady.Sent)
	}
	var md bytes.Buffer
	if err := res.WriteMarkdown(&md); err != nil || !strings.Contains(md.String(), "| **missing** (must be 0) | **0** |") {
		t.Errorf("markdown: %v\n%s", err, md.String())
	}
	var sent, delivered, replayed, disc int64
	for _, b := range res.Steady.Timeline {
		sent, delivered, replayed, disc = sent+b.Sent, delivered+b.Delivered, replayed+b.Replayed, disc+b.Disconnects
	}
	if sent != res.Steady.Sent || delivered != res.Steady.Delivered || replayed != res.RecoveredByHistory || disc != res.Disconnects {
		t.Errorf("timeline sums sent %d delivered %d replayed %d disconnects %d, want %d %d %d %d",
			sent, delivered, replayed, disc, res.Steady.Sent, res.Steady.Delivered, res.RecoveredByHistory, res.Disconnects)
	}
	if files, err := chatload.PlotFailover(t.TempDir(), res); err != nil || len(files) != 2 {
		t.Errorf("PlotFailover: %v %v", files, err)
	}
}

func TestFailoverDetectsMissingWhenHistoryIsBroken(t *testing.T) {
	net, a, b := twoNodes(t)
	net.HistoryOff.Store(true)
	cfg := failoverConfig(net, a, b)
	cfg.Drain = 500 * time.Millisecond // nothing will arrive; do not wait long
	res, err := chatload.RunFailover(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Missing < 9 {
		t.Errorf("missing %d though the server's history is empty, want >= 9 (recovered %d)", res.Missing, res.RecoveredByHistory)
	}
	if len(res.MissingSamples) == 0 || !hasWarning(res.Warnings, "never reached") {
		t.Errorf("samples %v warnings %q", res.MissingSamples, res.Warnings)
	}
	if err := res.Check(); !errors.Is(err, chatload.ErrMissing) {
		t.Errorf("Check = %v, want ErrMissing", err)
	}
}

func TestFailoverCountsAndDropsDuplicates(t *testing.T) {
	net, a, b := twoNodes(t)
	net.DuplicateHistory.Store(true)
	res, err := chatload.RunFailover(context.Background(), failoverConfig(net, a, b))
	if err != nil {
		t.Fatal(err)
	}
	// Each of the 3 resumes gets its anchor message again, at least once
	// (and once more per extra page).
	if res.Duplicates < 3 || res.DuplicatesByBody != res.Duplicates {
		t.Errorf("duplicates by msgid %d by body %d, want >= 3 and equal", res.Duplicates, res.DuplicatesByBody)
	}
	if res.Missing != 0 {
		t.Errorf("missing %d: %v", res.Missing, res.MissingSamples)
	}
}

func TestFailoverControlRunWithoutHook(t *testing.T) {
	net, a, b := twoNodes(t)
	cfg := failoverConfig(net, a, b)
	cfg.Hook = nil
	res, err := chatload.RunFailover(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Hook.Ran || res.Affected != 0 || res.Missing != 0 {
		t.Errorf("hook ran %v affected %d missing %d, want false 0 0", res.Hook.Ran, res.Affected, res.Missing)
	}
	if !hasWarning(res.Warnings, "control run") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

func TestShellHook(t *testing.T) {
	if err := chatload.ShellHook("exit 0")(context.Background()); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	err := chatload.ShellHook("echo boom >&2; exit 3")(context.Background())
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Errorf("exit 3: %v, want an error carrying the output", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := chatload.ShellHook("sleep 10")(ctx); err == nil || errors.Is(err, nil) {
		t.Errorf("cancelled hook: %v", err)
	}
}

func TestFailoverRejectsBadConfig(t *testing.T) {
	net, a, b := twoNodes(t)
	bad := failoverConfig(net, a, b)
	bad.CueAfter = time.Hour
	if _, err := chatload.RunFailover(context.Background(), bad); err == nil {
		t.Error("cue after the run: nil error")
	}
	bad = failoverConfig(net, a, b)
	bad.DeadAfter = time.Millisecond
	if _, err := chatload.RunFailover(context.Background(), bad); err == nil {
		t.Error("dead-after below ping interval: nil error")
	}
}

func TestFailoverHookTimeoutIsRecorded(t *testing.T) {
	net, a, b := twoNodes(t)
	cfg := failoverConfig(net, a, b)
	cfg.Hook = chatload.ShellHook("sleep 30")
	cfg.HookCommand = "sleep 30"
	cfg.HookTimeout = 100 * time.Millisecond
	res, err := chatload.RunFailover(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Hook.Ran || res.Hook.Error == "" || res.Hook.DurationS > 10 {
		t.Errorf("hook %+v, want an error after the 100 ms bound", res.Hook)
	}
	if !hasWarning(res.Warnings, "hook failed") {
		t.Errorf("warnings %q", res.Warnings)
	}
}

// TestFailoverTakesAnotherNickWhenTheOldIsHeld: the surviving node still
// holds the dead node's nicks (not reaped yet); clients retry at once with
// another nick instead of waiting.
func TestFailoverTakesAnotherNickWhenTheOldIsHeld(t *testing.T) {
	net, a, b := twoNodes(t)
	net.KeepNicksOnKill.Store(true)
	cfg := failoverConfig(net, a, b)
	cfg.Hook = func(context.Context) error { a.Kill(); return nil }
	res, err := chatload.RunFailover(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.Check(); err != nil || res.Reconnected != 3 {
		t.Fatalf("Check %v reconnected %d", err, res.Reconnected)
	}
	if res.ReconnectErrors.Other != 3 || res.ReconnectErrors.ConnRefused != 3 {
		t.Errorf("reconnect errors %+v, want 3 refused (a) and 3 nick-in-use (b)", res.ReconnectErrors)
	}
	for _, o := range res.Outages {
		// a refused, b said 433, b again with another nick.
		if o.Attempts != 3 || !o.Recovered {
			t.Errorf("outage %+v, want recovered in 3 attempts", o)
		}
	}
}
