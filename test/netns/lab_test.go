package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNewRejectsBadPrefix(t *testing.T) {
	for _, p := range []string{"", "UPPER", "has space", "waytoolongprefix", "-lead"} {
		if _, err := New(context.Background(), p); !errors.Is(err, ErrBadName) {
			t.Errorf("New(%q) error = %v, want ErrBadName", p, err)
		}
	}
}

func TestCheckAddrBenchmarkingRangesOnly(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"198.18.0.1/24", nil},
		{"198.19.255.254/32", nil},
		{"2001:2::1/64", nil},
		{"198.20.0.1/24", ErrAddrRange},
		{"10.0.0.1/8", ErrAddrRange},
		{"192.168.1.1/24", ErrAddrRange},
		{"127.0.0.1/8", ErrAddrRange},
		{"fd00::1/64", ErrAddrRange},
	}
	for _, tt := range tests {
		if err := checkAddr(netip.MustParsePrefix(tt.in)); !errors.Is(err, tt.want) {
			t.Errorf("checkAddr(%s) = %v, want %v", tt.in, err, tt.want)
		}
	}
}

// serveName listens on addr inside h and answers every connection with name.
func serveName(t *testing.T, h *Host, addr string, name string) {
	t.Helper()
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintln(c, name)
			c.Close()
		}
	}()
}

// ask dials addr from inside h and returns the first line, or an error.
func ask(h *Host, addr string) (string, error) {
	var line string
	err := h.Do(func() error {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(200 * time.Millisecond))
		line, err = bufio.NewReader(c).ReadString('\n')
		return err
	})
	return strings.TrimSpace(line), err
}

// askUntil retries ask until it answers or the deadline passes (a link that
// just came up needs a moment for ARP).
func askUntil(t *testing.T, h *Host, addr string, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		got, err := ask(h, addr)
		if err == nil {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s -> %s: no answer within %v: %v", h.Name(), addr, d, err)
		}
	}
}

func TestSwitchCarriesTrafficAndPortDownCutsIt(t *testing.T) {
	lab := NewT(t, "nstest")
	sw := lab.MustSwitch("sw")
	a, b := lab.MustHost("a"), lab.MustHost("b")
	lab.MustLink(a, sw, "eth0", netip.MustParsePrefix("198.18.0.1/24"))
	lab.MustLink(b, sw, "eth0", netip.MustParsePrefix("198.18.0.2/24"))
	serveName(t, a, "198.18.0.1:7000", "a")

	if got := askUntil(t, b, "198.18.0.1:7000", 5*time.Second); got != "a" {
		t.Fatalf("answer = %q, want a", got)
	}
	if err := sw.PortDown(a); err != nil {
		t.Fatal(err)
	}
	if got, err := ask(b, "198.18.0.1:7000"); err == nil {
		t.Fatalf("with a's port down, b still got %q", got)
	}
	if err := sw.PortUp(a); err != nil {
		t.Fatal(err)
	}
	askUntil(t, b, "198.18.0.1:7000", 5*time.Second)

	if err := a.LinkDown("eth0"); err != nil {
		t.Fatal(err)
	}
	if _, err := ask(b, "198.18.0.1:7000"); err == nil {
		t.Fatal("with a's eth0 down, b still got an answer")
	}
	if err := a.LinkUp("eth0"); err != nil {
		t.Fatal(err)
	}
	askUntil(t, b, "198.18.0.1:7000", 5*time.Second)
}

func TestPartitionIsolatesRoutersButNotClient(t *testing.T) {
	lab := NewT(t, "nstest")
	sw := lab.MustSwitch("sw")
	r1, r2, c := lab.MustHost("r1"), lab.MustHost("r2"), lab.MustHost("client")
	lab.MustLink(r1, sw, "eth0", netip.MustParsePrefix("198.18.0.11/24"))
	lab.MustLink(r2, sw, "eth0", netip.MustParsePrefix("198.18.0.12/24"))
	lab.MustLink(c, sw, "eth0", netip.MustParsePrefix("198.18.0.10/24"))
	serveName(t, r1, ":7000", "r1")
	serveName(t, r2, ":7000", "r2")
	askUntil(t, r1, "198.18.0.12:7000", 5*time.Second)

	if err := sw.Partition(r1, r2); err != nil {
		t.Fatal(err)
	}
	if got, err := ask(r1, "198.18.0.12:7000"); err == nil {
		t.Fatalf("partitioned r1 still reached r2 (%q)", got)
	}
	if got := askUntil(t, c, "198.18.0.11:7000", 2*time.Second); got != "r1" {
		t.Errorf("client -> r1 answered %q", got)
	}
	if got := askUntil(t, c, "198.18.0.12:7000", 2*time.Second); got != "r2" {
		t.Errorf("client -> r2 answered %q", got)
	}
	if err := sw.Heal(r1, r2); err != nil {
		t.Fatal(err)
	}
	askUntil(t, r1, "198.18.0.12:7000", 5*time.Second)
}

func TestAddrsSeenByNetlinkAndWaitAddr(t *testing.T) {
	lab := NewT(t, "nstest")
	sw := lab.MustSwitch("sw")
	h := lab.MustHost("h")
	lab.MustLink(h, sw, "eth0", netip.MustParsePrefix("198.18.5.1/24"))
	vip := netip.MustParsePrefix("198.18.5.100/24")

	has, err := h.HasAddr(vip.Addr())
	if err != nil || has {
		t.Fatalf("HasAddr before add = %v, %v; want false, nil", has, err)
	}
	if err := h.AddAddr("eth0", vip); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := h.WaitAddr(ctx, vip.Addr(), true); err != nil {
		t.Fatal(err)
	}
	if err := h.DelAddr("eth0", vip); err != nil {
		t.Fatal(err)
	}
	if err := h.WaitAddr(ctx, vip.Addr(), false); err != nil {
		t.Fatal(err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := h.WaitAddr(short, vip.Addr(), true); !errors.Is(err, ErrTimeout) {
		t.Fatalf("WaitAddr for an absent address = %v, want ErrTimeout", err)
	}
	if err := h.AddAddr("eth0", netip.MustParsePrefix("10.1.1.1/24")); !errors.Is(err, ErrAddrRange) {
		t.Fatalf("AddAddr outside the ranges = %v, want ErrAddrRange", err)
	}
	if _, err := lab.Link(h, sw, "eth1", netip.MustParsePrefix("192.168.0.1/24")); !errors.Is(err, ErrAddrRange) {
		t.Fatalf("Link outside the ranges = %v, want ErrAddrRange", err)
	}
	if err := h.Sysctl("net.ipv4.ip_forward", "1"); err != nil {
		t.Fatal(err)
	}
	out, err := h.Run(context.Background(), "cat", "/proc/sys/net/ipv4/ip_forward")
	if err != nil || strings.TrimSpace(out) != "1" {
		t.Fatalf("ip_forward inside the namespace = %q, %v; want 1", out, err)
	}
}

func TestStartKill9AndCloseRemovesEverything(t *testing.T) {
	RequireRoot(t)
	lab, err := New(context.Background(), "nstest")
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	h := lab.MustHost("h")
	lab.MustHost("h2")
	ctx := context.Background()

	p, err := h.Start(ctx, "sleeper", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Kill9(); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := p.Wait(ctx); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("Wait after Kill9 = %v, want killed by SIGKILL", err)
	}
	if err := p.Signal(syscall.SIGTERM); !errors.Is(err, os.ErrProcessDone) {
		t.Fatalf("Signal after exit = %v, want os.ErrProcessDone", err)
	}

	// A process left running, and one not started through Start, are both
	// ended by Close.
	left, err := h.Start(ctx, "left", "sleep", "600")
	if err != nil {
		t.Fatal(err)
	}
	stray := h.Command(ctx, "sleep", "600")
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	strayDone := make(chan error, 1)
	go func() { strayDone <- stray.Wait() }()

	if err := lab.Close(); err != nil {
		t.Fatal(err)
	}
	if !left.Exited() {
		t.Error("Close left a started process running")
	}
	select {
	case <-strayDone:
	case <-time.After(5 * time.Second):
		t.Error("Close left a process inside the namespace running")
	}
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), lab.Name()) {
		t.Errorf("namespaces of %s remain after Close:\n%s", lab.Name(), out)
	}
	if err := lab.Close(); err != nil {
		t.Errorf("second Close = %v, want the first result (nil)", err)
	}
	if _, err := lab.Host("late"); !errors.Is(err, ErrClosed) {
		t.Errorf("Host after Close = %v, want ErrClosed", err)
	}
}

func TestSweepStaleRemovesOnlyDeadRuns(t *testing.T) {
	RequireRoot(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale := fmt.Sprintf("nssweep-%d-abcdef-x", dead.Process.Pid)
	if err := ipCmd("netns", "add", stale); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ipCmd("netns", "del", stale) })
	live, err := New(context.Background(), "nssweep")
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	keep := live.MustHost("keep")

	removed, err := SweepStale("nssweep")
	if err != nil {
		t.Fatal(err)
	}
	if len(removed) != 1 || removed[0] != stale {
		t.Errorf("SweepStale removed %v, want [%s]", removed, stale)
	}
	if _, err := keep.Run(context.Background(), "true"); err != nil {
		t.Errorf("the live run's namespace was removed: %v", err)
	}
}

func TestTwoCablesFromOneHostGetDistinctPorts(t *testing.T) {
	lab := NewT(t, "nstest")
	sw := lab.MustSwitch("sw")
	h := lab.MustHost("h")
	p1 := lab.MustLink(h, sw, "eth0", netip.MustParsePrefix("198.18.0.1/24"))
	p2 := lab.MustLink(h, sw, "eth1", netip.MustParsePrefix("198.18.9.1/24"))
	if p1.SwitchPort() == p2.SwitchPort() {
		t.Fatalf("both cables use switch port %q", p1.SwitchPort())
	}
	if err := sw.PortDown(h); err == nil {
		t.Error("PortDown of a host with two cables did not ask which one")
	}
	m1, err1 := p1.MAC()
	m2, err2 := p2.MAC()
	if err1 != nil || err2 != nil || len(m1) != 6 || m1.String() == m2.String() {
		t.Errorf("MACs %v (%v), %v (%v): want two distinct Ethernet addresses", m1, err1, m2, err2)
	}
	if h.Port("eth1") != p2 || h.Port("eth9") != nil {
		t.Error("Host.Port does not find cables by interface name")
	}
}
