package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportKeepalived(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "keepalived.conf")
	src := "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n priority 100\n authentication {\n  auth_type PASS\n }\n virtual_ipaddress {\n  198.18.1.100/24\n }\n}\n"
	if err := os.WriteFile(conf, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"import-keepalived", conf}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "vrid: 7") || !strings.Contains(out.String(), "198.18.1.100/24") {
		t.Errorf("output lacks the instance:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "keepalived.conf:5: authentication") {
		t.Errorf("stderr does not list the dropped authentication block:\n%s", errb.String())
	}

	bad := filepath.Join(t.TempDir(), "bad.conf")
	os.WriteFile(bad, []byte("vrrp_instance X {\n interface eth0\n}\n"), 0o644)
	out.Reset()
	errb.Reset()
	if code := run(t.Context(), []string{"import-keepalived", bad}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "vrid") {
		t.Errorf("an instance without a VRID: exit %d, stderr %s", code, errb.String())
	}
}
