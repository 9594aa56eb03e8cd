package netns

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Proc is a program started in a host's namespace by Start.
type Proc struct {
	host    *Host
	name    string
	cmd     *exec.Cmd
	logPath string

	done    chan struct{}
	mu      sync.Mutex
	waitErr error
}

// Start runs argv inside the host's namespace in the background, with stdout
// and stderr appended to <lab dir>/<host>/<name>.log (so a restarted daemon
// keeps one log). The PID is argv's own ("ip netns exec" execs). When ctx is
// done the process gets SIGTERM, and SIGKILL 3 s later. Lab.Close stops it too.
func (h *Host) Start(ctx context.Context, name string, argv ...string) (*Proc, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("netns: %s: start %s: empty command", h.name, name)
	}
	if err := os.MkdirAll(h.lab.path(h.name), 0o755); err != nil {
		return nil, fmt.Errorf("netns: %s: start %s: %w", h.name, name, err)
	}
	logPath := h.lab.path(h.name, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("netns: %s: start %s: %w", h.name, name, err)
	}
	fmt.Fprintf(f, "=== %s start: %s\n", time.Now().Format(time.RFC3339Nano), strings.Join(argv, " "))
	cmd := h.Command(ctx, argv...)
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	// If this process dies without Close (a test killed by -timeout), its
	// daemons die too instead of holding addresses in orphaned namespaces.
	// ("ip netns exec" execs, so the setting reaches argv itself.)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 3 * time.Second
	p := &Proc{host: h, name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}

	h.lab.mu.Lock()
	if h.lab.closed {
		h.lab.mu.Unlock()
		f.Close()
		return nil, ErrClosed
	}
	if err := cmd.Start(); err != nil {
		h.lab.mu.Unlock()
		f.Close()
		return nil, fmt.Errorf("netns: %s: start %s: %w", h.name, name, err)
	}
	h.lab.procs = append(h.lab.procs, p)
	h.lab.mu.Unlock()

	go func() {
		err := cmd.Wait()
		fmt.Fprintf(f, "=== %s exit: %v\n", time.Now().Format(time.RFC3339Nano), exitText(err))
		f.Close()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

func exitText(err error) string {
	if err == nil {
		return "status 0"
	}
	return err.Error()
}

// Name is the name given to Start.
func (p *Proc) Name() string { return p.name }

// Host is where the process runs.
func (p *Proc) Host() *Host { return p.host }

// PID is the process ID (of argv itself, not of a wrapper).
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// LogPath is the file holding the process's stdout and stderr.
func (p *Proc) LogPath() string { return p.logPath }

// Log returns the log file's contents (empty if unreadable).
func (p *Proc) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

// Done is closed when the process has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Signal sends sig to the process, by its recorded PID. Signalling an
// exited process returns os.ErrProcessDone.
func (p *Proc) Signal(sig os.Signal) error {
	if p.Exited() {
		return os.ErrProcessDone
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("netns: %s: signal %s (pid %d): %w", p.host.name, p.name, p.PID(), err)
	}
	return nil
}

// Kill9 sends SIGKILL: the process gets no chance to clean up (its VIPs,
// for instance, stay configured).
func (p *Proc) Kill9() error { return p.Signal(syscall.SIGKILL) }

// Wait waits for the process to exit and returns its exit error (nil for
// status 0; an *exec.ExitError otherwise), or ctx's error.
func (p *Proc) Wait(ctx context.Context) error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waitErr
	case <-ctx.Done():
		return fmt.Errorf("netns: %s: waiting for %s (pid %d) to exit: %w", p.host.name, p.name, p.PID(), ctx.Err())
	}
}

// Stop sends SIGTERM, waits up to grace, then sends SIGKILL and waits for the
// exit. It returns the process's exit error; stopping an exited process is a no-op.
func (p *Proc) Stop(grace time.Duration) error {
	if err := p.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		_ = p.Kill9()
		<-p.done
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}
