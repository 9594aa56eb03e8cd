package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/packaging/manpage"
)

// vrrpctl(8) EXIT STATUS: 0 for -h (of vrrpctl and of every command) and
// -version, 2 for a bad command line.
func TestExitStatusOfVrrpctlManPage(t *testing.T) {
	type tc struct {
		name    string
		args    []string
		code    int
		wantOut string
	}
	tests := []tc{
		{"help", []string{"-h"}, 0, ""},
		{"version", []string{"-version"}, 0, buildinfo.String("vrrpctl") + "\n"},
		{"long version", []string{"--version"}, 0, buildinfo.String("vrrpctl") + "\n"},
		{"no command", nil, 2, ""},
		{"unknown flag", []string{"-bogus"}, 2, ""},
		{"unknown command", []string{"frobnicate"}, 2, ""},
		{"maintenance without instance", []string{"maintenance", "on"}, 2, ""},
	}
	for _, cmd := range []string{"status", "maintenance", "reload", "balancer", "events", "import-keepalived"} {
		tests = append(tests, tc{cmd + " -h", []string{cmd, "-h"}, 0, ""}, tc{cmd + " unknown flag", []string{cmd, "-bogus"}, 2, ""})
	}
	sock := filepath.Join(t.TempDir(), "none.sock") // -h must not need vrrpd
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if got := exitCode(context.Background(), append([]string{"-s", sock}, tt.args...), &out, &errb); got != tt.code {
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

// man-pages(7): vrrpctl(8) documents exactly the flags of vrrpctl and of its
// commands, both ways, so the page cannot drift from the binary.
func TestManPageVrrpctl8ListsEveryFlag(t *testing.T) {
	md, err := manpage.Read("vrrpctl.8")
	if err != nil {
		t.Fatal(err)
	}
	var usage bytes.Buffer
	for _, args := range [][]string{{"-h"}, {"status", "-h"}, {"maintenance", "-h"}, {"reload", "-h"},
		{"balancer", "-h"}, {"events", "-h"}, {"import-keepalived", "-h"}} {
		if code := exitCode(context.Background(), args, io.Discard, &usage); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
	}
	if diff := manpage.Compare(manpage.Flags(md), manpage.UsageFlags(usage.String())); diff != "" {
		t.Errorf("vrrpctl.8.md against vrrpctl -h and its commands' -h:\n%s", diff)
	}
}
