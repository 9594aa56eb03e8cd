package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/internal/mariadbtest"
	"github.com/hachat/hachat/test/netns"
)

// TestLabTiny brings the whole topology up, runs a tiny Table 1 point
// directly and through the VIP and one "master stopped" trial, and checks
// that teardown leaves no namespace behind. It is the lab's end-to-end
// check at test scale; `make lab QUICK=1` is the same at experiment scale.
func TestLabTiny(t *testing.T) {
	netns.RequireRoot(t, "nft")
	if err := mariadbtest.Binaries(); err != nil {
		t.Skipf("lab: skipped: %v", err)
	}
	if testing.Short() {
		t.Skip("lab: skipped in -short mode (builds the daemons, ~1 minute)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := t.TempDir()
	if err := buildBinaries(ctx, bin); err != nil {
		t.Fatal(err)
	}
	var logw io.Writer = io.Discard
	if testing.Verbose() {
		logw = os.Stderr
	}
	topo := &Topology{Bin: bin, log: logw}
	closed := false
	defer func() {
		if !closed {
			topo.Close()
		}
	}()
	logDir := t.TempDir()
	if err := Up(ctx, topo, logDir); err != nil {
		t.Fatalf("bring-up: %v", err)
	}
	name := topo.Lab.Name()

	dp, err := topo.DataPlane(ctx, "lb1")
	if err != nil {
		t.Fatal(err)
	}
	want := "nftables"
	if KernelHasIPVS() {
		want = "ipvs"
	}
	if dp != want {
		t.Errorf("data plane %q, want %q (kernel IPVS: %v)", dp, want, KernelHasIPVS())
	}

	for _, server := range []string{app1Chat, vipChat} {
		sc := topo.storm(server)
		sc.Conns, sc.Rate = 40, 40
		r, err := chatload.RunStorm(ctx, sc)
		if err != nil {
			t.Fatalf("storm against %s: %v", server, err)
		}
		if r.Connections.Succeeded != 40 {
			t.Errorf("storm against %s: %d of 40 connections succeeded; errors %+v %q", server,
				r.Connections.Succeeded, r.Errors, r.ErrorSamples)
		}
	}

	plan := FailoverPlan{Duration: 8 * time.Second, Cue: 3 * time.Second, Drain: 4 * time.Second,
		Channels: 2, Members: 4, Senders: 2, Rate: 10,
		ProbeInterval: 20 * time.Millisecond, ProbeTimeout: 250 * time.Millisecond}
	run, err := runScenario(ctx, topo, plan, scenMasterOff, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Problems) > 0 {
		t.Errorf("master stopped: %q", run.Problems)
	}
	if run.VIPMovedS <= 0 || run.Chat.Accepted == 0 {
		t.Errorf("master stopped: VIP moved after %v s, %d messages accepted; want both positive", run.VIPMovedS, run.Chat.Accepted)
	}
	if holds, err := topo.Hosts["lb2"].HasAddr(vipFront.Addr()); err != nil || !holds {
		t.Errorf("after the master stopped, lb2 holds the VIP: %v (%v)", holds, err)
	}

	closed = true
	if err := topo.Close(); err != nil {
		t.Errorf("teardown: %v", err)
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), name) {
		t.Errorf("namespaces of %s left after teardown:\n%s", name, out)
	}
	if _, err := os.Stat(topo.sockDir); !os.IsNotExist(err) {
		t.Errorf("socket directory %s left after teardown (%v)", topo.sockDir, err)
	}
}
