// Package cli holds what the project's commands share on their command lines:
// the exit-status contract of every man page (0 on success and for -h, 1 when
// the work failed, 2 for a bad command line, a command's own statuses through
// Exit), repeatable list flags, and the daemons' loggers. Every command has
// run(ctx, args, stdout, stderr) error, and main is
// os.Exit(cli.Report(os.Stderr, name, run(...))).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// UsageError is a command line that does not parse. Printed says the flag
// package has already shown it with the usage, so main need not print it.
type UsageError struct {
	Err     error
	Printed bool
}

func (u UsageError) Error() string { return u.Err.Error() }
func (u UsageError) Unwrap() error { return u.Err }

// Usage marks err as a bad command line that nobody has printed yet.
func Usage(err error) error { return UsageError{Err: err} }

// FlagError marks what FlagSet.Parse returned as a usage error (the flag
// package printed the message and the flags); -h stays flag.ErrHelp.
func FlagError(err error) error {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return UsageError{Err: err, Printed: true}
}

// Reported is a failure the command has already described on stderr in its
// own words (every error of a configuration, a daemon's last log line, the
// losses of a conversion): main prints nothing more and exits with Code.
type Reported struct{ Code int }

func (r Reported) Error() string { return fmt.Sprintf("exit status %d", r.Code) }

// Exit is the error for an exit status the command has reported itself:
// nil for 0, Reported otherwise.
func Exit(code int) error {
	if code == 0 {
		return nil
	}
	return Reported{Code: code}
}

// ExitCode is the exit status for what a command's run returned: 0 on
// success and for -h, 2 for a bad command line, a Reported's own code, 1 for
// anything else.
func ExitCode(err error) int {
	var u UsageError
	var r Reported
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &u):
		return 2
	case errors.As(err, &r):
		return r.Code
	}
	return 1
}

// Report prints err on w as "name: err" unless it needs no words (success,
// -h, a usage error the flag package printed, a failure the command
// reported), and returns the exit status.
func Report(w io.Writer, name string, err error) int {
	code := ExitCode(err)
	var u UsageError
	var r Reported
	switch {
	case errors.As(err, &r):
	case code == 1 || (code == 2 && errors.As(err, &u) && !u.Printed):
		fmt.Fprintf(w, "%s: %v\n", name, err)
	}
	return code
}

// ListFlag collects a repeatable flag whose values may also be comma lists;
// blanks around and between the commas are dropped.
type ListFlag []string

func (l *ListFlag) String() string { return strings.Join(*l, ",") }

func (l *ListFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// NewLogger is a daemon's logger on w: level is debug, info, warn or error,
// format text or json.
func NewLogger(w io.Writer, level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log format %q is not json or text", format)
}
