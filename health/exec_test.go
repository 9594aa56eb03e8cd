package health

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestExecProbeKinds checks that the outcomes of a MISC_CHECK script (the
// process side is tested in internal/procexec) reach the metrics under the
// right failure kind, with messages that name the check.
func TestExecProbeKinds(t *testing.T) {
	tests := []struct {
		name string
		argv []string
		want FailureKind
	}{
		{"exit 0 is up", []string{"/bin/sh", "-c", "exit 0"}, ""},
		{"non-zero exit is down", []string{"/bin/sh", "-c", "exit 3"}, KindExit},
		{"killed by a signal is down", []string{"/bin/sh", "-c", "kill -9 $$"}, KindExit},
		{"missing program cannot start", []string{"/nonexistent/check-script"}, KindSpawn},
		{"empty command is a configuration error", nil, KindConfig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := (&Exec{Argv: tc.argv}).Probe(probeCtx(t))
			wantKind(t, err, tc.want)
			if err != nil && !strings.HasPrefix(err.Error(), "exec check") {
				t.Errorf("error %q does not name the exec check", err)
			}
		})
	}
	t.Run("exit code is readable", func(t *testing.T) {
		err := (&Exec{Argv: []string{"/bin/sh", "-c", "exit 7"}}).Probe(probeCtx(t))
		if code, ok := ExitCode(err); !ok || code != 7 {
			t.Errorf("ExitCode(%v) = %d, %v; want 7, true", err, code, ok)
		}
	})
}

// TestExecProbeTimeout checks that a script that outlives the probe's
// deadline is a timeout, not a script failure.
func TestExecProbeTimeout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	wantKind(t, (&Exec{Argv: []string{"/bin/sh", "-c", "sleep 300"}}).Probe(ctx), KindTimeout)
}
