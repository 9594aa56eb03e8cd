package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/packaging/manpage"
)

// chatload(1) EXIT STATUS: 0 for -h (of chatload and of every command) and
// --version, 2 for a bad command line. A run that fails is 1 (TestCommandErrors).
func TestExitStatusOfChatloadManPage(t *testing.T) {
	type tc struct {
		name string
		args []string
		code int
	}
	tests := []tc{
		{"help", []string{"-h"}, 0},
		{"version", []string{"--version"}, 0},
		{"no command", nil, 2},
		{"unknown command", []string{"flood"}, 2},
		{"plot without files", []string{"plot", "--out", "x"}, 2},
	}
	for _, cmd := range []string{"storm", "steady", "failover", "ceiling", "plot"} {
		tests = append(tests,
			tc{cmd + " -h", []string{cmd, "-h"}, 0},
			tc{cmd + " --help", []string{cmd, "--help"}, 0},
			tc{cmd + " unknown flag", []string{cmd, "--bogus"}, 2},
			tc{cmd + " flag without value", []string{cmd, "--timeout"}, 2})
	}
	tests = append(tests, tc{"stray argument", []string{"storm", "--server", "127.0.0.1:1", "extra"}, 2})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, err := runCmd(t, tt.args...)
			if got := cli.ExitCode(err); got != tt.code {
				t.Errorf("exit status %d (err %v), want %d", got, err, tt.code)
			}
			// A usage error is printed by the flag package or else by main.
			var u cli.UsageError
			if tt.code == 2 && strings.TrimSpace(stderr) == "" && (!errors.As(err, &u) || u.Printed) {
				t.Error("a bad command line leaves no message")
			}
			if tt.name == "version" && stdout != buildinfo.String("chatload")+"\n" {
				t.Errorf("--version printed %q", stdout)
			}
		})
	}
}

// man-pages(7): chatload(1) documents exactly the flags of its commands, both
// ways, so the page cannot drift from the binary.
func TestManPageChatload1ListsEveryFlag(t *testing.T) {
	md, err := manpage.Read("chatload.1")
	if err != nil {
		t.Fatal(err)
	}
	var usage strings.Builder
	for _, cmd := range []string{"storm", "steady", "failover", "ceiling", "plot"} {
		_, stderr, err := runCmd(t, cmd, "-h")
		if cli.ExitCode(err) != 0 {
			t.Fatalf("%s -h: %v", cmd, err)
		}
		usage.WriteString(stderr)
	}
	if diff := manpage.Compare(manpage.Flags(md), manpage.UsageFlags(usage.String())); diff != "" {
		t.Errorf("chatload.1.md against the commands' -h:\n%s", diff)
	}
}
