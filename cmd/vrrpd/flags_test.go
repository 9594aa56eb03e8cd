package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/internal/cli"
	"github.com/hachat/hachat/packaging/manpage"
)

// vrrpd(8) EXIT STATUS: 0 for -h and -version, 2 for a bad command line, 1
// for a configuration that does not load.
func TestExitStatusOfVrrpdManPage(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		code    int
		wantOut string
	}{
		{"help", []string{"-h"}, 0, ""},
		{"long help", []string{"--help"}, 0, ""},
		{"version", []string{"-version"}, 0, buildinfo.String("vrrpd") + "\n"},
		{"long version", []string{"--version"}, 0, buildinfo.String("vrrpd") + "\n"},
		{"unknown flag", []string{"-bogus"}, 2, ""},
		{"flag without value", []string{"-f"}, 2, ""},
		{"stray argument", []string{"-t", "extra"}, 2, ""},
		{"missing configuration", []string{"-t", "-f", filepath.Join(t.TempDir(), "none.yaml")}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := cli.Report(&errb, "vrrpd", run(context.Background(), tt.args, &out, &errb)); got != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", got, tt.code, errb.String())
			}
			if out.String() != tt.wantOut {
				t.Errorf("stdout %q, want %q", out.String(), tt.wantOut)
			}
			if tt.code != 0 && errb.Len() == 0 {
				t.Error("no message on stderr")
			}
		})
	}
}

// man-pages(7): vrrpd(8) documents exactly vrrpd's flags, both ways, so the
// page cannot drift from the binary.
func TestManPageVrrpd8ListsEveryFlag(t *testing.T) {
	md, err := manpage.Read("vrrpd.8")
	if err != nil {
		t.Fatal(err)
	}
	var errb bytes.Buffer
	if code := cli.ExitCode(run(context.Background(), []string{"-h"}, io.Discard, &errb)); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	if diff := manpage.Compare(manpage.Flags(md), manpage.UsageFlags(errb.String())); diff != "" {
		t.Errorf("vrrpd.8.md against vrrpd -h:\n%s", diff)
	}
}
