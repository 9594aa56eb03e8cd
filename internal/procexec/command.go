package procexec

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

// Errors a caller can act on; [Command.Run] wraps them with %w.
var (
	// ErrExitStatus means the command exited with a non-zero status or
	// was killed by a signal it did not get from Run.
	ErrExitStatus = errors.New("script exited with non-zero status")
	// ErrEmptyCommand means the command has no program to run.
	ErrEmptyCommand = errors.New("empty command")
)

// DefaultOutputLimit is how many bytes of a command's output [Command.Run]
// keeps for its error message.
const DefaultOutputLimit = 256

// waitDelay bounds how long Run waits for a command's output pipes after
// the command exited or was killed: a grandchild that keeps the pipe open
// must not hold the caller.
const waitDelay = 250 * time.Millisecond

// Command is one external command: a check script, a track script or a
// notify hook. It runs in a new process group; when the context of
// [Command.Run] is done the whole group gets SIGKILL, so that a hung script
// cannot leave children behind that pile up on every interval.
type Command struct {
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

// Run runs the command and waits for it, or kills its process group when
// ctx is done. It returns nil when the command exits with status 0.
//
// Every error but ErrEmptyCommand begins with the program's name, so that a
// caller can prefix its own operation ("exec check %w"). A non-zero exit
// wraps both [ErrExitStatus] and the *exec.ExitError and ends with the last
// line of the command's output; a command killed because ctx was done wraps
// ctx's error.
func (c *Command) Run(ctx context.Context) error {
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return ErrEmptyCommand
	}
	limit := c.OutputLimit
	if limit <= 0 {
		limit = DefaultOutputLimit
	}
	out := &tailBuffer{limit: limit}
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = c.Env
	cmd.Dir = c.Dir
	cmd.Stdout = out
	cmd.Stderr = out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: c.Credential}
	cmd.Cancel = func() error {
		// With Setpgid the group ID is the leader's PID; the negative PID
		// signals every process in the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = waitDelay

	err := cmd.Run()
	if ctxErr := ctx.Err(); ctxErr != nil && err != nil {
		return fmt.Errorf("%s: killed process group: %w", c.Argv[0], ctxErr)
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
		return fmt.Errorf("%s: %w: %w%s", c.Argv[0], ErrExitStatus, ee, out.suffix())
	default:
		return fmt.Errorf("%s: %w", c.Argv[0], err)
	}
}

// ExitCode returns the exit status carried by an error of [Command.Run],
// for callers that give codes a meaning (keepalived's misc_dynamic: 2-255
// sets the weight to code-2). It returns false when the command did not
// exit on its own (killed, not started) or err is nil.
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
