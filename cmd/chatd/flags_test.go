package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/packaging/manpage"
)

// chatd(8) EXIT STATUS: 0 for -h and -version, 2 for a bad command line, 1
// when the configuration is wrong.
func TestExitStatusOfChatdManPage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut string
	}{
		{"help", []string{"-h"}, 0, ""},
		{"long help", []string{"--help"}, 0, ""},
		{"version", []string{"-version"}, 0, buildinfo.String("chatd") + "\n"},
		{"long version", []string{"--version"}, 0, buildinfo.String("chatd") + "\n"},
		{"unknown flag", []string{"-bogus"}, 2, ""},
		{"flag without value", []string{"-config"}, 2, ""},
		{"stray argument", []string{"-t", "extra"}, 2, ""},
		{"bad configuration", []string{"-t", "-flood-rate", "1", "-line-bytes", "1"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errb)
			if got := cli.ExitCode(err); got != tt.code {
				t.Errorf("exit status %d (err %v), want %d", got, err, tt.code)
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			if tt.code != 0 && strings.TrimSpace(errb.String()+errorText(err)) == "" {
				t.Error("no message for the failure")
			}
		})
	}
}

func errorText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// man-pages(7): chatd(8) documents exactly chatd's flags, both ways, so the
// page cannot drift from the binary.
func TestManPageChatd8ListsEveryFlag(t *testing.T) {
	md, err := manpage.Read("chatd.8")
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, io.Discard, &errb); cli.ExitCode(err) != 0 {
		t.Fatalf("-h: %v", err)
	}
	if diff := manpage.Compare(manpage.Flags(md), manpage.UsageFlags(errb.String())); diff != "" {
		t.Errorf("chatd.8.md against chatd -h:\n%s", diff)
	}
}
