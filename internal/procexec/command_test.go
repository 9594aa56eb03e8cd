package procexec

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestCommandRun(t *testing.T) {
	t.Run("exit 0 is up", func(t *testing.T) {
		if err := (&Command{Argv: []string{"/bin/sh", "-c", "exit 0"}}).Run(runCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("non-zero exit is down, with code and output", func(t *testing.T) {
		err := (&Command{Argv: []string{"/bin/sh", "-c", "echo starting; echo backend 3 is gone >&2; exit 3"}}).Run(runCtx(t))
		wantIs(t, err, ErrExitStatus)
		if code, ok := ExitCode(err); !ok || code != 3 {
			t.Errorf("ExitCode(%v) = %d, %v; want 3, true", err, code, ok)
		}
		if err == nil || !strings.Contains(err.Error(), "backend 3 is gone") {
			t.Errorf("error %v does not quote the script's last line", err)
		}
	})
	t.Run("killed by a signal has no exit code", func(t *testing.T) {
		err := (&Command{Argv: []string{"/bin/sh", "-c", "kill -9 $$"}}).Run(runCtx(t))
		wantIs(t, err, ErrExitStatus)
		if code, ok := ExitCode(err); ok {
			t.Errorf("ExitCode(%v) = %d, true; want false", err, code)
		}
	})
	t.Run("runs as another user", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("switching user needs root")
		}
		p := &Command{Argv: []string{"/bin/sh", "-c", `test "$(id -u)" = 65534`},
			Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := p.Run(runCtx(t)); err != nil {
			t.Fatalf("script as uid 65534: %v", err)
		}
	})
	t.Run("environment is passed", func(t *testing.T) {
		p := &Command{Argv: []string{"/bin/sh", "-c", `test "$CHECK_TARGET" = 198.18.0.5`}, Env: []string{"CHECK_TARGET=198.18.0.5"}}
		if err := p.Run(runCtx(t)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing program", func(t *testing.T) {
		err := (&Command{Argv: []string{"/nonexistent/check-script"}}).Run(runCtx(t))
		wantIs(t, err, fs.ErrNotExist)
	})
	t.Run("empty command", func(t *testing.T) {
		wantIs(t, (&Command{}).Run(runCtx(t)), ErrEmptyCommand)
	})
	t.Run("success despite a child holding the output", func(t *testing.T) {
		dir := t.TempDir()
		pidFile := filepath.Join(dir, "bg.pid")
		script := fmt.Sprintf("sleep 300 & echo $! > %s; exit 0", pidFile)
		err := (&Command{Argv: []string{"/bin/sh", "-c", script}}).Run(runCtx(t))
		if pid, perr := readPID(pidFile); perr == nil {
			killPID(pid)
		}
		if err != nil {
			t.Fatalf("script exited 0 but Run says %v", err)
		}
	})
}

// TestRunTimeoutKillsProcessGroup checks that a timed-out script and the
// children it spawned are all killed. The context is cancelled once the
// script has recorded its PIDs, so a slow machine cannot make the test race
// the script's start; the deadline path is checked by TestRunTimeout.
func TestRunTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type pids struct {
		leader, child int
		err           error
	}
	found := make(chan pids, 1)
	go func() {
		defer cancel()
		var p pids
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			l, lerr := readPID(filepath.Join(dir, "leader.pid"))
			c, cerr := readPID(filepath.Join(dir, "child.pid"))
			p = pids{l, c, errors.Join(lerr, cerr)}
			if p.err == nil {
				break
			}
			time.Sleep(5 * time.Millisecond) // polling for the script's files, bounded by deadline
		}
		found <- p
	}()
	err := (&Command{Argv: []string{"/bin/sh", "testdata/hang.sh", dir}}).Run(ctx)
	p := <-found
	if p.err != nil {
		t.Fatalf("the script never recorded its PIDs: %v (Run: %v)", p.err, err)
	}
	wantIs(t, err, context.Canceled)
	leader, child := p.leader, p.child
	t.Cleanup(func() { killPID(child); killPID(leader) })
	for _, pid := range []int{leader, child} {
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("pid %d still alive 10s after Run was cancelled", pid)
			}
			time.Sleep(5 * time.Millisecond) // polling for the event, bounded by deadline
		}
	}
}

// TestRunTimeout checks that the deadline of Run ends a hung script and
// reads as a timeout.
func TestRunTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := (&Command{Argv: []string{"/bin/sh", "-c", "sleep 300"}}).Run(ctx)
	wantIs(t, err, context.DeadlineExceeded)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("Run returned %v after its 200ms deadline: the kill did not end it", took)
	}
}

// runCtx bounds a command in a test. The timeout is generous because the
// test machine is shared; tests about timeouts set their own.
func runCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantIs(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("Run = %v, want an error wrapping %q", err, want)
	}
}

func readPID(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil && pid > 1 {
		p.Kill()
	}
}

// alive reports whether pid runs; a zombie waiting for its reaper is dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesized command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	return s[i+2] != 'Z' && s[i+2] != 'X'
}
