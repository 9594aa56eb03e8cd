package health

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// DefaultOutputLimit is how many bytes of a script's output an [Exec] probe
// keeps for its error message.
const DefaultOutputLimit = 256

// execWaitDelay bounds how long a probe waits for a script's output pipes
// after the script exited or was killed: a grandchild that keeps the pipe
// open must not hold the probe.
const execWaitDelay = 250 * time.Millisecond

// Exec is keepalived's MISC_CHECK and vrrp_script: the target is up when
// the command exits with status 0. The command runs in a new process group;
// when the probe's context is done the whole group gets SIGKILL, so that a
// hung script cannot leave children behind that pile up on every interval.
//
// A non-zero exit returns an error wrapping both [ErrExitStatus] and the
// *exec.ExitError, so callers that give exit codes a meaning (keepalived's
// misc_dynamic) can read the code with errors.As.
type Exec struct {
	// Argv is the program and its arguments; Argv[0] is looked up in PATH
	// when it has no slash. No shell is involved.
	Argv []string
	// Env is the environment of the command; nil inherits the daemon's.
	Env []string
	// Dir is the working directory; empty means the daemon's.
	Dir string
	// Credential, when set, runs the command as another user and group
	// (keepalived's script "user"). It needs privileges to switch.
	Credential *syscall.Credential
	// OutputLimit bounds the tail of combined stdout and stderr kept for
	// the error message; zero means DefaultOutputLimit.
	OutputLimit int
}

// Probe runs the command and waits for it, or kills its process group when
// ctx is done.
func (e *Exec) Probe(ctx context.Context) error {
	if len(e.Argv) == 0 || e.Argv[0] == "" {
		return fmt.Errorf("exec check: empty command: %w", ErrInvalidTarget)
	}
	limit := e.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	out := &tailBuffer{limit: limit}
	cmd := exec.CommandContext(ctx, e.Argv[0], e.Argv[1:]...)
	cmd.Env = e.Env
	cmd.Dir = e.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: e.Credential}
	cmd.Cancel = func() error {
		// With Setpgid the group ID is the leader's PID; the negative PID
		// signals every process in the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = execWaitDelay

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("exec check %s: killed process group: %w", e.Argv[0], ctxErr)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, exec.ErrWaitDelay):
		// The script exited 0 but left a child holding its output open.
		// The script's verdict stands.
		return nil
	case errors.As(err, &ee):
		return fmt.Errorf("exec check %s: %w: %w%s", e.Argv[0], ErrExitStatus, ee, out.suffix())
	default:
		return fmt.Errorf("exec check %s: %w", e.Argv[0], err)
	}
}

// ExitCode returns the exit status carried by an [Exec] probe's error, for
// callers that give codes a meaning (keepalived's misc_dynamic: 2-255 sets
// the weight to code-2). It returns false when the script did not exit on
// its own (killed, not started) or err is nil.
func ExitCode(err error) (int, bool) {
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() < 0 {
		return 0, false
	}
	return ee.ExitCode(), true
}

// tailBuffer keeps the last limit bytes written to it. os/exec serializes
// writes when Stdout and Stderr are the same writer, so it needs no lock.
type tailBuffer struct {
	limit int
	buf   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.limit {
		t.buf = append(t.buf[:0], p[len(p)-t.limit:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.limit; over > 0 {
		t.buf = t.buf[over:]
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// suffix renders the output for an error message: the last non-empty line.
func (t *tailBuffer) suffix() string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil)))
	if s == "" {
		return ""
	}
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return fmt.Sprintf(" (output: %q)", s)
}
