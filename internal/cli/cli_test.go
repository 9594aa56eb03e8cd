package cli

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The exit statuses every man page's EXIT STATUS section documents.
func TestExitCode(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"-h", flag.ErrHelp, 0},
		{"-h wrapped", fmt.Errorf("chatd: %w", flag.ErrHelp), 0},
		{"bad flag", FlagError(errors.New("flag provided but not defined: -x")), 2},
		{"bad argument", Usage(errors.New("unexpected argument")), 2},
		{"failure", errors.New("listen: address in use"), 1},
		{"reported failure", Exit(1), 1},
		{"reported status 3", fmt.Errorf("import: %w", Exit(3)), 3},
		{"exit 0", Exit(0), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// A usage error the flag package already printed is not printed twice; one
// it did not print, and a failure, are.
func TestReportPrintsOnce(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{flag.ErrHelp, ""},
		{FlagError(errors.New("bad flag")), ""},
		{Usage(errors.New("unexpected argument")), "x: unexpected argument\n"},
		{errors.New("boom"), "x: boom\n"},
		{Exit(1), ""},
		{Exit(3), ""},
	} {
		var b bytes.Buffer
		Report(&b, "x", tt.err)
		if b.String() != tt.want {
			t.Errorf("Report(%v) printed %q, want %q", tt.err, b.String(), tt.want)
		}
	}
}

func TestListFlag(t *testing.T) {
	var l ListFlag
	for _, v := range []string{"a,b", " c ", "d,,e"} {
		if err := l.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff(ListFlag{"a", "b", "c", "d", "e"}, l); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestNewLoggerRefusesUnknown(t *testing.T) {
	if _, err := NewLogger(nil, "loud", "text"); err == nil {
		t.Error("level loud accepted")
	}
	if _, err := NewLogger(nil, "info", "xml"); err == nil {
		t.Error("format xml accepted")
	}
	var b bytes.Buffer
	l, err := NewLogger(&b, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown")
	if bytes.Contains(b.Bytes(), []byte("hidden")) || !bytes.Contains(b.Bytes(), []byte(`"msg":"shown"`)) {
		t.Errorf("logger wrote %q", b.String())
	}
}
