package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ngircd.conf(5): `ngircd --configtest` reads and validates the file; the
// generated configuration must pass without an unknown variable, so the
// benchmark measures the server it means to (no DNS, no connection caps).
func TestNgircdConfigtestAcceptsGeneratedConfig(t *testing.T) {
	bin := "/usr/sbin/ngircd"
	if _, err := os.Stat(bin); err != nil {
		t.Skip("ngircd not installed (scripts/install-deps.sh installs it)")
	}
	dir := t.TempDir()
	conf := filepath.Join(dir, "ngircd.conf")
	if err := os.WriteFile(conf, []byte(ngircdConfig(dir, 16667)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "--configtest", "--config", conf).CombinedOutput()
	if err != nil {
		t.Fatalf("ngircd --configtest: %v\n%s", err, out)
	}
	for _, bad := range []string{"Unknown variable", "Unknown section", "Invalid"} {
		if strings.Contains(string(out), bad) {
			t.Errorf("ngircd --configtest reports %q:\n%s", bad, out)
		}
	}
	for _, want := range []string{"DNS = no", "PAM = no", "MaxConnectionsIP = 0"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ngircd's view of the configuration lacks %q", want)
		}
	}
}
