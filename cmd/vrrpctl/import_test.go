package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wholeConf = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.1.100/24\n }\n}\n"

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "keepalived.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestImportKeepalivedExitStatus checks the contract of vrrpctl(8) EXIT
// STATUS: 0 converted whole, 3 converted with the losses listed on stderr,
// 1 refused with nothing on stdout, 2 usage.
func TestImportKeepalivedExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name   string
		conf   string
		code   int
		stdout string // substring; "" means stdout must be empty
		stderr string
	}{
		{"whole", wholeConf, 0, "vrid: 7", "converted whole"},
		{"lossy", strings.Replace(wholeConf, " interface eth0\n", " interface eth0\n mcast_src_ip 198.18.1.5\n", 1), 3, "vrid: 7", "lost: "},
		{"refused", "vrrp_instance X {\n interface eth0\n}\n", 1, "", "not valid for vrrpd"},
		{"refused by the importer", "vrrp_script s {\n script \"</dev/tcp/127.0.0.1/80\"\n}\n", 1, "", "refused: "},
		{"syntax error", "vrrp_instance X {\n", 1, "", "refused: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := exitCode(t.Context(), []string{"import-keepalived", writeConf(t, tc.conf)}, &out, &errb)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tc.code, errb.String())
			}
			if tc.stdout == "" && out.Len() > 0 {
				t.Errorf("stdout not empty on refusal:\n%s", out.String())
			}
			if !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stdout %q / stderr %q, want %q / %q", out.String(), errb.String(), tc.stdout, tc.stderr)
			}
		})
	}
	var out, errb bytes.Buffer
	if code := exitCode(t.Context(), []string{"import-keepalived"}, &out, &errb); code != 2 {
		t.Errorf("no file: exit %d, want 2", code)
	}
}

// TestImportKeepalivedOutputFile checks -o: the file is replaced whole on
// success, and left untouched when the import is refused or interrupted.
func TestImportKeepalivedOutputFile(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "vrrpd.yaml")
	const old = "# the configuration in service\n"
	if err := os.WriteFile(dst, []byte(old), 0o640); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	bad := writeConf(t, "vrrp_instance X {\n interface eth0\n}\n")
	if code := exitCode(t.Context(), []string{"import-keepalived", "-o", dst, bad}, &out, &errb); code != 1 {
		t.Fatalf("refused import: exit %d", code)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if code := exitCode(ctx, []string{"import-keepalived", "-o", dst, writeConf(t, wholeConf)}, &out, &errb); code != 1 {
		t.Fatalf("interrupted import: exit %d", code)
	}
	if b, _ := os.ReadFile(dst); string(b) != old {
		t.Fatalf("a failed import changed %s:\n%s", dst, b)
	}
	if code := exitCode(t.Context(), []string{"import-keepalived", "-o", dst, writeConf(t, wholeConf)}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	b, err := os.ReadFile(dst)
	if err != nil || !strings.Contains(string(b), "vrid: 7") || out.Len() != 0 {
		t.Errorf("-o file %q (err %v), stdout %q: want the YAML in the file only", b, err, out.String())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("temporary files left beside the output: %v", ents)
	}
}

// TestImportKeepalivedInterruptedMidway: a signal that arrives while the
// conversion runs (here: while a script name is resolved) stops it with
// exit 1 and nothing written, stdout or file (issue #13: SIGTERM was
// ignored).
func TestImportKeepalivedInterruptedMidway(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	old := lookPath
	lookPath = func(name string) (string, error) { cancel(); return "/usr/bin/" + name, nil }
	defer func() { lookPath = old }()
	conf := writeConf(t, "vrrp_script chk {\n script \"killall -0 haproxy\"\n}\n"+wholeConf)
	dst := filepath.Join(t.TempDir(), "vrrpd.yaml")
	var out, errb bytes.Buffer
	if code := exitCode(ctx, []string{"import-keepalived", "-o", dst, conf}, &out, &errb); code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, errb.String())
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) || out.Len() > 0 {
		t.Errorf("an interrupted import wrote something: stat %v, stdout %q", err, out.String())
	}
}
