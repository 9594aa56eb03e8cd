package keepalivedconf

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/config"
)

// samplesDir holds the sample configurations of Debian's keepalived package
// (GPL-2, so read in place, never copied here).
const samplesDir = "/usr/share/doc/keepalived/samples"

// TestKeepalivedSamples converts each of the 25 keepalived.conf samples and
// checks the verdict: whole (exit 0) or refused (exit 1, for a reason a
// keepalived user would accept), and the reasons of the refused ones. None
// converts with losses (exit 3).
func TestKeepalivedSamples(t *testing.T) {
	tested := map[string]bool{}
	defer func() {
		// A new keepalived package with more samples must get verdicts here too.
		all, _ := filepath.Glob(filepath.Join(samplesDir, "keepalived.conf.*"))
		for _, p := range all {
			if !tested[filepath.Base(p)] {
				t.Errorf("sample %s has no expected verdict", filepath.Base(p))
			}
		}
	}()
	for _, tc := range []struct {
		file    string
		verdict string
		why     []string // a substring of each loss or refusal, in order
	}{
		{"keepalived.conf.HTTP_GET.port", "whole", nil},
		{"keepalived.conf.IPv6", "whole", nil},
		{"keepalived.conf.PING_CHECK", "whole", nil},
		{"keepalived.conf.SMTP_CHECK", "whole", nil},
		{"keepalived.conf.SSL_GET", "refused", []string{"auth_type AH"}},
		{"keepalived.conf.UDP_CHECK", "whole", nil},
		// Its @high/@low lines select nothing on a host of another name
		// (keepalived -i): the script has no command.
		{"keepalived.conf.conditional_conf", "refused", []string{"no script line"}},
		{"keepalived.conf.fwmark", "whole", nil},
		{"keepalived.conf.inhibit", "whole", nil},
		{"keepalived.conf.misc_check", "whole", nil},
		{"keepalived.conf.misc_check_arg", "whole", nil},
		{"keepalived.conf.quorum", "whole", nil},
		{"keepalived.conf.sample", "whole", nil},
		{"keepalived.conf.status_code", "whole", nil},
		{"keepalived.conf.track_interface", "refused", []string{"static_routes"}},
		{"keepalived.conf.virtual_server_group", "whole", nil},
		{"keepalived.conf.virtualhost", "whole", nil},
		{"keepalived.conf.vrrp", "whole", nil},
		// "</dev/tcp/..." needs bash as /bin/sh, as the sample itself warns.
		{"keepalived.conf.vrrp.localcheck", "refused", []string{"shell syntax", "shell syntax", "shell syntax"}},
		{"keepalived.conf.vrrp.lvs_syncd", "whole", nil},
		{"keepalived.conf.vrrp.routes", "refused", []string{"static_routes"}},
		// Its "192.168.200./24" is no address: keepalived rejects the line too.
		{"keepalived.conf.vrrp.rules", "refused", []string{"static_rules", "not an address"}},
		{"keepalived.conf.vrrp.scripts", "whole", nil},
		{"keepalived.conf.vrrp.static_ipaddress", "refused", []string{"static_ipaddress"}},
		{"keepalived.conf.vrrp.sync", "whole", nil},
	} {
		tested[tc.file] = true
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(samplesDir, tc.file)
			if _, err := os.Stat(path); err != nil {
				t.Skipf("keepalived's samples are not installed (apt install keepalived): %v", err)
			}
			r, err := Import(t.Context(), path, Options{ConfigID: "hachat-test", LookPath: fakePath})
			if err != nil {
				t.Fatal(err)
			}
			// #13: whole or refused, never converted with losses; a refused
			// sample has no losses besides, so that once its refusals are
			// dealt with it converts whole.
			if l := r.Losses(); len(l) > 0 {
				t.Errorf("losses: %v", l)
			}
			got, why := verdict(r)
			if got != tc.verdict {
				t.Fatalf("verdict %s, want %s: %v", got, tc.verdict, why)
			}
			if len(why) != len(tc.why) {
				t.Fatalf("%d reasons, want %d:\n%s", len(why), len(tc.why), strings.Join(why, "\n"))
			}
			for i, w := range tc.why {
				if !strings.Contains(why[i], w) {
					t.Errorf("reason %d = %q, want it to mention %q", i, why[i], w)
				}
			}
			if got == "refused" {
				return
			}
			y, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := config.Parse(tc.file+".yaml", y); err != nil {
				t.Errorf("vrrpd rejects the conversion: %v", err)
			}
		})
	}
}

// TestKeepalivedSamplesWithoutStaticBlocks: the samples refused for their
// static_* blocks alone convert whole once the blocks have moved to the
// host's network configuration, as the refusal says to do: their
// virtual_routes, virtual_rules and addresses on other devices carry over.
func TestKeepalivedSamplesWithoutStaticBlocks(t *testing.T) {
	static := regexp.MustCompile(`(?s)\nstatic_(ipaddress|routes|rules) \{.*?\n\}`)
	for file, want := range map[string]string{
		"keepalived.conf.track_interface":       "whole",
		"keepalived.conf.vrrp.routes":           "whole",
		"keepalived.conf.vrrp.static_ipaddress": "whole",
		"keepalived.conf.vrrp.rules":            "refused", // its "192.168.200./24"
	} {
		t.Run(file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(samplesDir, file))
			if err != nil {
				t.Skipf("keepalived's samples are not installed (apt install keepalived): %v", err)
			}
			stripped := static.ReplaceAll(b, nil)
			if bytes.Contains(stripped, []byte("\nstatic_")) {
				t.Fatalf("static block left in:\n%s", stripped)
			}
			path := filepath.Join(t.TempDir(), file)
			if err := os.WriteFile(path, stripped, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := Import(t.Context(), path, Options{ConfigID: "hachat-test", LookPath: fakePath})
			if err != nil {
				t.Fatal(err)
			}
			if got, why := verdict(r); got != want {
				t.Fatalf("verdict %s, want %s: %v", got, want, why)
			}
			if want == "refused" {
				return
			}
			y, err := r.YAML()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(y, []byte("virtual_routes:")) && !bytes.Contains(y, []byte("virtual_rules:")) {
				t.Errorf("no virtual routes or rules carried over:\n%s", y)
			}
			if _, err := config.Parse(file+".yaml", y); err != nil {
				t.Errorf("vrrpd rejects the conversion: %v", err)
			}
		})
	}
}
