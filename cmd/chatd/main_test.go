package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		args    []string
		wantOut string
		wantErr string
	}{
		{name: "flags only", args: []string{"-t", "-node", "a", "-listen", "127.0.0.1:6667"}, wantOut: "configuration OK (node a"},
		{name: "file", args: []string{"-t", "-config", write("ok.yaml", "node: b\nlisten: [\":6667\"]\nlimits:\n  max_clients: 100\n")}, wantOut: "node b"},
		{name: "flag overrides file", args: []string{"-t", "-config", write("ok2.yaml", "node: b\n"), "-node", "c"}, wantOut: "node c"},
		{name: "unknown field", args: []string{"-t", "-config", write("typo.yaml", "node: b\nlimitz: {}\n")}, wantErr: "limitz"},
		{name: "bad value", args: []string{"-t", "-config", write("bad.yaml", "node: b\nlimits:\n  line_bytes: 100\n")}, wantErr: "limits.line_bytes"},
		{name: "dead_after too short", args: []string{"-t", "-node", "a", "-heartbeat", "1s", "-dead-after", "1s"}, wantErr: "timers.dead_after"},
		{name: "missing file", args: []string{"-t", "-config", filepath.Join(dir, "nope.yaml")}, wantErr: "no such file"},
		{name: "tls without cert", args: []string{"-t", "-node", "a", "-tls-listen", ":6697"}, wantErr: "tls_cert"},
		{name: "bad flag number", args: []string{"-t", "-max-clients", "many"}, wantErr: "not a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tt.args, &out, &errb)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error()+errb.String(), tt.wantErr) {
					t.Fatalf("err = %v (stderr %q), want it to mention %q", err, errb.String(), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout = %q, want %q", out.String(), tt.wantOut)
			}
		})
	}
}
