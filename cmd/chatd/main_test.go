package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hachat/hachat/chatd/store"
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
		{name: "operator with plain password", args: []string{"-t", "-config", write("oper.yaml", "node: b\noperators:\n  - name: root\n    password: hunter2\n")}, wantErr: "operators[0].password"},
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

// TestHashPassword: -hash-password prints an argon2id hash that OPER (and
// the configuration check) accept.
func TestHashPassword(t *testing.T) {
	stdin = strings.NewReader("hunter2\n")
	t.Cleanup(func() { stdin = os.Stdin })
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-hash-password"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	h := strings.TrimSpace(out.String())
	if ok, err := store.CheckPassword(h, "hunter2"); err != nil || !ok {
		t.Fatalf("hash %q does not verify hunter2: %v %v", h, ok, err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("node: b\noperators:\n  - name: root\n    password: \""+h+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"-t", "-config", p}, &out, &errb); err != nil {
		t.Fatalf("config with the printed hash: %v", err)
	}
}

func TestHashPasswordEmpty(t *testing.T) {
	stdin = strings.NewReader("\n")
	t.Cleanup(func() { stdin = os.Stdin })
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-hash-password"}, &out, &errb); err == nil {
		t.Fatal("an empty password was hashed")
	}
}
