package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/cli"
)

func TestCheckConfig(t *testing.T) {
	for _, tc := range []struct {
		file    string
		code    int
		stdout  string
		stderrs []string
	}{
		{"testdata/vrrpd.yaml", 0, "configuration OK (2 instances, 1 sync groups", nil},
		{"testdata/minimal.yaml", 0, "configuration OK (1 instances", nil},
		{"testdata/bad.yaml", 1, "", []string{
			"testdata/bad.yaml:4: instances[0].vrid: 300 is out of range 1-255",
			"testdata/bad.yaml:6: instances[0].advert_interval: 15ms must be a multiple of 10ms",
			"testdata/bad.yaml:9: instances[0].track_scripts[0].name: no script is named \"missing\"",
		}},
		{"testdata/absent.yaml", 1, "", []string{"no such file"}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.ExitCode(run(context.Background(), []string{"-t", "-f", tc.file}, &out, &errb))
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout %q lacks %q", out.String(), tc.stdout)
			}
			for _, s := range tc.stderrs {
				if !strings.Contains(errb.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, errb.String())
				}
			}
		})
	}
}
