package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hachat/hachat/chatload"
	"github.com/hachat/hachat/internal/mariadbtest"
	"github.com/hachat/hachat/test/ipvsvm"
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
	// A budget of one CPU per machine: loose enough not to change what
	// the test sees, and it runs the budget path (-machine-cpu).
	topo := &Topology{Bin: bin, log: logw, MachineCPU: MachineCPU{Default: 1}}
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
	groups := checkBudgets(t, topo)

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

	checkAcceptOff(ctx, t, topo)

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
	for _, g := range groups {
		if _, err := os.Stat(g); !os.IsNotExist(err) {
			t.Errorf("CPU group %s left after teardown (%v)", g, err)
		}
	}
}

// checkBudgets: every daemon runs in its machine's CPU group, with the
// machine's quota. It returns the groups' directories.
func checkBudgets(t *testing.T, topo *Topology) []string {
	t.Helper()
	pids := map[string]int{"db": topo.DB.PID, "app1": topo.chatd["app1"].PID(), "app2": topo.chatd["app2"].PID(),
		"lb1": topo.vrrpd["lb1"].PID(), "lb2": topo.vrrpd["lb2"].PID()}
	var dirs []string
	for m, pid := range pids {
		dir := topo.cpu.Dir(m)
		if dir == "" {
			t.Errorf("%s has no CPU group", m)
			continue
		}
		dirs = append(dirs, dir)
		procs, _ := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
		quota, _ := os.ReadFile(filepath.Join(dir, "cpu.cfs_quota_us"))
		if !slices.Contains(strings.Fields(string(procs)), strconv.Itoa(pid)) || strings.TrimSpace(string(quota)) != "100000" {
			t.Errorf("%s: pid %d, group %s holds %q with quota %q; want the pid and 100000", m, pid, dir, procs, quota)
		}
	}
	return dirs
}

// checkAcceptOff: the lab runs with accept: false, so the master refuses
// packets addressed to the VIP itself: a connection to a port that is not a
// virtual service gets no answer at all (with accept on, lb1's stack would
// answer with a reset). The chat service through the VIP is checked by the
// storm.
func checkAcceptOff(ctx context.Context, t *testing.T, topo *Topology) {
	t.Helper()
	out, err := topo.Hosts["lb1"].Run(ctx, "nft", "list", "table", "inet", "hachat_vrrp")
	if err != nil || !strings.Contains(out, vipFront.Addr().String()) {
		t.Errorf("lb1 has no accept-mode rules for %v: %v\n%s", vipFront.Addr(), err, out)
	}
	err = topo.Client().Do(func() error {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(vipFront.Addr().String(), "9"), 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connection to the VIP's port 9: %v, want no answer (accept: false)", err)
	}
}

// TestLabVMBalancers (-dataplane ipvs-vm): lb1 and lb2 boot as QEMU VMs on
// Debian's kernel with vrrpd on kernel IPVS, TAP NICs on the lab's bridge;
// chat sessions through the VIP reach the chat servers, and teardown stops
// the VMs and removes every namespace.
func TestLabVMBalancers(t *testing.T) {
	netns.RequireRoot(t, "nft", "qemu-system-x86_64")
	if err := mariadbtest.Binaries(); err != nil {
		t.Skipf("lab: skipped: %v", err)
	}
	if _, err := ipvsvm.FetchKernel(t.Logf); err != nil {
		t.Skipf("lab: skipped: cannot get Debian's kernel package: %v", err)
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
	topo := &Topology{Bin: bin, log: logw, Dataplane: dataplaneVM}
	closed := false
	defer func() {
		if !closed {
			topo.Close()
		}
	}()
	if err := Up(ctx, topo, t.TempDir()); err != nil {
		t.Fatalf("bring-up: %v", err)
	}
	name := topo.Lab.Name()
	sc := topo.storm(vipChat)
	sc.Conns, sc.Rate = 40, 20
	r, err := chatload.RunStorm(ctx, sc)
	if err != nil {
		t.Fatal(err)
	}
	if r.Connections.Succeeded != 40 {
		t.Errorf("storm through the VMs' VIP: %d of 40 connections succeeded; errors %+v %q", r.Connections.Succeeded, r.Errors, r.ErrorSamples)
	}
	for _, lb := range []string{"lb1", "lb2"} {
		if log := topo.vms[lb].Log(); !strings.Contains(log, "LABVM: "+lb+" up") {
			t.Errorf("%s's console lacks its start line:\n%s", lb, tail(log, 20))
		}
	}
	if log := topo.vms["lb1"].Log(); !strings.Contains(log, "to=MASTER") || !strings.Contains(log, "plane=ipvs") {
		t.Errorf("lb1 is not a MASTER on kernel IPVS:\n%s", tail(log, 30))
	}
	closed = true
	if err := topo.Close(); err != nil {
		t.Errorf("teardown: %v", err)
	}
	for lb, p := range topo.vms {
		if !p.Exited() {
			t.Errorf("%s's QEMU (pid %d) still runs after teardown", lb, p.PID())
		}
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), name) {
		t.Errorf("namespaces of %s left after teardown:\n%s", name, out)
	}
}
