package netns

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireRoot skips t, with a message saying what is missing, unless the
// test runs as root and ip(8) from iproute2 is installed. Extra tools
// (keepalived, tcpdump) can be named in tools. Namespace tests are
// integration tests: -short skips them too.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("netns: skipped in -short mode: network-namespace integration test")
	}
	if os.Geteuid() != 0 {
		t.Skip("netns: skipped: network-namespace tests need root (CAP_SYS_ADMIN and CAP_NET_ADMIN); run as root, e.g. sudo go test")
	}
	for _, tool := range append([]string{"ip"}, tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("netns: skipped: %s is not installed (apt-get install %s)", tool, aptPackage(tool))
		}
	}
}

func aptPackage(tool string) string {
	switch tool {
	case "ip", "bridge":
		return "iproute2"
	case "ping":
		return "iputils-ping"
	}
	return tool
}

// NewT is New for tests: it skips unless RequireRoot passes, fails the test
// on error, and closes the lab in t.Cleanup. When the test failed, the lab
// directory is kept and the tail of every process log is printed.
//
// It first removes the leftovers of earlier runs with the same prefix whose
// test process is gone (see SweepStale): a test binary killed by -timeout
// never runs its cleanups.
func NewT(t testing.TB, prefix string, opts ...Option) *Lab {
	t.Helper()
	RequireRoot(t)
	if removed, err := SweepStale(prefix); err != nil {
		t.Logf("netns: removing stale namespaces: %v", err)
	} else if len(removed) > 0 {
		t.Logf("netns: removed %d namespaces left by dead runs: %v", len(removed), removed)
	}
	l, err := New(context.Background(), prefix, opts...)
	if err != nil {
		t.Fatalf("netns: %v", err)
	}
	l.tb = t
	t.Cleanup(func() {
		if t.Failed() {
			l.KeepDir()
			l.logTails(t)
		}
		if err := l.Close(); err != nil {
			t.Errorf("netns: close lab %s: %v", l.Name(), err)
		}
	})
	return l
}

func (l *Lab) logTails(t testing.TB) {
	l.mu.Lock()
	procs := append([]*Proc(nil), l.procs...)
	l.mu.Unlock()
	seen := map[string]bool{}
	for _, p := range procs {
		if seen[p.logPath] {
			continue
		}
		seen[p.logPath] = true
		lines := strings.Split(strings.TrimRight(p.Log(), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		t.Logf("--- %s (last %d lines)\n%s", p.logPath, len(lines), strings.Join(lines, "\n"))
	}
	t.Logf("netns: lab directory kept: %s", l.dir)
}

// fatal fails the owning test, or panics for labs made by New.
func (l *Lab) fatal(err error) {
	if l.tb != nil {
		l.tb.Helper()
		l.tb.Fatalf("%v", err)
	}
	panic(fmt.Sprint(err))
}

// MustHost is Host that fails the test (NewT labs) or panics on error.
func (l *Lab) MustHost(name string) *Host {
	h, err := l.Host(name)
	if err != nil {
		l.fatal(err)
	}
	return h
}

// MustSwitch is Switch that fails the test or panics on error.
func (l *Lab) MustSwitch(name string) *Switch {
	sw, err := l.Switch(name)
	if err != nil {
		l.fatal(err)
	}
	return sw
}

// MustLink is Link that fails the test or panics on error.
func (l *Lab) MustLink(h *Host, sw *Switch, ifname string, addrs ...netip.Prefix) *Port {
	p, err := l.Link(h, sw, ifname, addrs...)
	if err != nil {
		l.fatal(err)
	}
	return p
}
