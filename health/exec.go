package health

import (
	"context"
	"fmt"

	"github.com/hachat/hachat/internal/procexec"
)

// Exec is keepalived's MISC_CHECK and vrrp_script: the target is up when
// the command exits with status 0. It is a [procexec.Command] (same fields)
// that runs as a probe: in a new process group, the whole group killed when
// the probe's context is done, so that a hung script cannot leave children
// behind that pile up on every interval.
//
// A non-zero exit returns an error wrapping both [ErrExitStatus] and the
// *exec.ExitError, so callers that give exit codes a meaning (keepalived's
// misc_dynamic) can read the code with [ExitCode]; an empty command wraps
// [ErrInvalidTarget].
type Exec procexec.Command

// Probe runs the command and waits for it, or kills its process group when
// ctx is done.
func (e *Exec) Probe(ctx context.Context) error {
	if len(e.Argv) == 0 || e.Argv[0] == "" {
		return fmt.Errorf("exec check: empty command: %w", ErrInvalidTarget)
	}
	if err := (*procexec.Command)(e).Run(ctx); err != nil {
		// Run's errors begin with the program's name.
		return fmt.Errorf("exec check %w", err)
	}
	return nil
}

// ExitCode returns the exit status carried by an [Exec] probe's error; see
// [procexec.ExitCode].
func ExitCode(err error) (int, bool) { return procexec.ExitCode(err) }
