package keepalivedconf

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hachat/hachat/internal/config"
)

// verdict sums up a conversion as vrrpctl's exit status does: "whole",
// "lossy" or "refused", with the reasons of the last two.
func verdict(r *Result) (string, []string) {
	var why []string
	switch {
	case len(r.Refusals) > 0:
		for _, n := range r.Refusals {
			why = append(why, n.String())
		}
		return "refused", why
	case len(r.Losses()) > 0:
		for _, n := range r.Losses() {
			why = append(why, n.String())
		}
		return "lossy", why
	}
	return "whole", nil
}

// TestRules converts one small keepalived.conf per rule of keepalived.conf(5)
// and checks the verdict, a fragment of the YAML, and that vrrpd accepts
// what was converted. Each case is named for the section it follows.
func TestRules(t *testing.T) {
	const vi = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  198.18.1.100/24\n }\n"
	for _, tc := range []struct {
		name    string
		src     string
		verdict string
		want    []string // substrings of the YAML (whole, lossy) or of a reason (refused, lossy); "END:x": the output ends with x
	}{
		{"VRRP instance/priority default 100", vi + "}\n", "whole", []string{"vrid: 7", "version: 2"}},
		{"VRRP instance/vrrp_version 2 default carried", "global_defs {\n}\n" + vi + "}\n", "whole", []string{"version: 2"}},
		{"GLOBAL DEFINITIONS/vrrp_version 3", "global_defs {\n vrrp_version 3\n}\n" + vi + " advert_int 0.5\n}\n", "whole", []string{"version: 3", "advert_interval: 500ms"}},
		{"VRRP instance/version 2 sub-second advert_int refused", vi + " advert_int 0.5\n}\n", "refused", []string{"whole-second"}},
		{"VRRP instance/IPv6 runs as VRRPv3", "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  2001:2::1/64\n }\n}\n", "whole", []string{"version: 3"}},
		{"VRRP instance/virtual_ipaddress label", strings.Replace(vi, "198.18.1.100/24\n", "198.18.1.100/24\n  198.18.1.100/24 label eth0:1\n", 1) + "}\n", "whole", []string{"END:virtual_addresses:\n      - 198.18.1.100/24\n"}},
		{"VRRP instance/virtual_ipaddress dev elsewhere", strings.Replace(vi, "198.18.1.100/24\n", "198.18.1.100/24\n  198.18.2.17 dev eth1\n", 1) + "}\n", "whole", []string{"device_addresses:\n      - address: 198.18.2.17/32\n        interface: eth1"}},
		{"VRRP instance/virtual_routes", vi + " virtual_routes {\n  src 198.18.1.100 198.18.9.0/24 via 198.18.1.254 dev eth1\n  198.18.13.0/24 via 198.18.1.252 or 198.18.1.253 dev eth1\n  blackhole 198.18.14.1/32\n  0.0.0.0/0 gw 198.18.0.1 table 100\n  198.18.11.0/24 dev eth2 scope link no_track\n }\n}\n", "whole",
			[]string{"- to: 198.18.9.0/24\n        via: 198.18.1.254\n        interface: eth1\n        source: 198.18.1.100", "nexthops:\n          - via: 198.18.1.252\n          - via: 198.18.1.253\n        interface: eth1", "- to: 198.18.14.1/32\n        type: blackhole", "- to: 0.0.0.0/0\n        via: 198.18.0.1\n        table: 100", "scope: link"}},
		{"VRRP instance/virtual_routes or without via", vi + " virtual_routes {\n  198.18.9.0/24 or 198.18.1.254\n }\n}\n", "refused", []string{"give the first with via"}},
		{"VRRP instance/virtual_routes inet6 default", "vrrp_instance V6 {\n interface eth0\n virtual_router_id 7\n virtual_ipaddress {\n  2001:db8::1/64\n }\n virtual_routes {\n  inet6 default via 2001:db8::fe\n }\n}\n", "whole", []string{"- to: \"::/0\"\n        via: 2001:db8::fe"}},
		{"VRRP instance/interfaces of addresses and routes tracked", strings.Replace(vi, "198.18.1.100/24\n", "198.18.1.100/24\n  198.18.2.17 dev eth1\n  198.18.3.17 dev eth3 no_track\n", 1) + " virtual_routes {\n  198.18.9.0/24 dev eth2\n  198.18.10.0/24 dev eth4 no_track\n }\n virtual_rules {\n  from 198.18.1.0/24 table 2 priority 9 oif eth5\n }\n}\n", "whole",
			[]string{"track_interfaces:\n      - name: eth1\n      - name: eth2\n      - name: eth5\n"}},
		{"VRRP instance/virtual_routes unknown option", vi + " virtual_routes {\n  198.18.9.0/24 via 198.18.1.254 mtu 1400\n }\n}\n", "refused", []string{"route option \"mtu\""}},
		{"VRRP instance/virtual_rules", vi + " virtual_rules {\n  from 198.18.1.0/24 table 2 priority 100\n  to 198.18.3.0/24 lookup main no_track\n }\n}\n", "whole", []string{"- from: 198.18.1.0/24\n        table: 2\n        priority: 100", "- to: 198.18.3.0/24\n        table: 254"}},
		{"VRRP instance/virtual_rules bad address", vi + " virtual_rules {\n  to 192.168.200./24 table 2\n }\n}\n", "refused", []string{"not an address"}},
		{"VRRP instance/virtual_rules table name", vi + " virtual_rules {\n  from 198.18.1.0/24 table vpn\n }\n}\n", "refused", []string{"table's number"}},
		{"VRRP instance/authentication PASS", vi + " authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n}\n", "whole", []string{"authentication:\n      type: pass\n      password: \"1111\""}},
		{"VRRP instance/authentication PASS truncated to 8", vi + " authentication {\n  auth_type PASS\n  auth_pass 123456789\n }\n}\n", "whole", []string{"password: \"12345678\""}},
		{"VRRP instance/authentication AH", vi + " authentication {\n  auth_type AH\n  auth_pass 1111\n }\n}\n", "refused", []string{"RFC 3768 removed it"}},
		{"VRRP instance/authentication AH ignored by VRRPv3", "global_defs {\n vrrp_version 3\n}\n" + vi + " authentication {\n  auth_type AH\n }\n}\n", "whole", nil},
		{"STATIC ROUTES/static_routes refused", "static_routes {\n 198.18.5.0/24 via 198.18.1.1 dev eth0\n}\n" + vi + "}\n", "refused", []string{"host's own network configuration"}},
		{"VRRP instance/authentication ignored by VRRPv3", "global_defs {\n vrrp_version 3\n}\n" + vi + " authentication {\n  auth_type PASS\n  auth_pass 1111\n }\n}\n", "whole", nil},
		{"VRRP instance/authentication without auth_pass", vi + " authentication {\n  auth_type PASS\n }\n}\n", "whole", nil},
		{"VRRP instance/state MASTER", vi + " state MASTER\n}\n", "whole", nil},
		{"VRRP instance/smtp_alert without notification_email", vi + " smtp_alert\n}\n", "whole", nil},
		{"VRRP instance/smtp_alert with notification_email", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1\n}\n" + vi + " smtp_alert\n}\n", "whole", []string{"smtp_server: 198.18.0.1:25", "smtp_alert: true"}},
		{"GLOBAL DEFINITIONS/smtp_alert_vrrp sets the instances' default", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1 2525\n smtp_helo_name lb1\n smtp_alert_vrrp\n}\n" + vi + "}\n", "whole", []string{"smtp_server: 198.18.0.1:2525", "helo: lb1", "smtp_alert: true"}},
		{"VRRP instance/smtp_alert false beats global smtp_alert", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1\n smtp_alert\n}\n" + vi + " smtp_alert false\n}\n", "whole", []string{"smtp_server: 198.18.0.1:25", "END:    virtual_addresses:\n      - 198.18.1.100/24\n"}},
		{"GLOBAL DEFINITIONS/notification_email without alerts", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1\n}\n" + vi + "}\n", "whole", nil},
		{"VRRP script/bare command resolved via PATH", "vrrp_script chk {\n script \"killall -0 haproxy\"\n}\n" + vi + " track_script {\n  chk\n }\n}\n", "whole", []string{"- /usr/bin/killall\n"}},
		{"VRRP script/command not in PATH", "vrrp_script chk {\n script \"missing -x\"\n}\n" + vi + "}\n", "refused", []string{"not in PATH"}},
		{"VRRP script/shell syntax", "vrrp_script chk {\n script \"</dev/tcp/127.0.0.1/80\"\n}\n" + vi + "}\n", "refused", []string{"shell syntax"}},
		{"VRRP script/timeout above interval", "vrrp_script chk {\n script /bin/true\n interval 1\n timeout 10\n}\n" + vi + "}\n", "whole", []string{"interval: 1s\n    timeout: 10s"}},
		{"VRRP synchronization group/group block", vi + "}\nvrrp_sync_group G {\n group {\n  VI_1\n }\n notify_master /bin/true\n}\n", "whole", []string{"instances:\n      - VI_1"}},
		{"VRRP instance/notify gets TYPE first", vi + " notify \"/usr/local/bin/n arg\"\n}\n", "whole", []string{"any:\n        - /usr/local/bin/n\n        - arg\n        - INSTANCE\n"}},
		{"VRRP synchronization group/notify gets GROUP", vi + "}\nvrrp_sync_group G {\n group {\n  VI_1\n }\n notify /usr/local/bin/n\n}\n", "whole", []string{"- /usr/local/bin/n\n        - GROUP\n"}},
		{"VRRP synchronization group/track_interface", vi + "}\nvrrp_sync_group G {\n group {\n  VI_1\n }\n track_interface {\n  eth9\n }\n}\n", "whole", []string{"track_interfaces:\n      - name: eth9\n"}},
		{"VRRP synchronization group/track_script weight", "vrrp_script chk {\n script /bin/true\n}\n" + vi + "}\nvrrp_sync_group G {\n group {\n  VI_1\n }\n track_script {\n  chk weight 10\n }\n}\n", "lossy", []string{"weights of a sync group", "track_scripts:\n      - name: chk\n        weight: 0\n"}},
		{"VRRP synchronization group/legacy members", vi + "}\nvrrp_sync_group G {\n VI_1\n}\n", "whole", []string{"instances:\n      - VI_1"}},
		{"LVS/virtual_server_group every member", "virtual_server_group G {\n 198.18.2.1 80\n 198.18.2.3-4 80\n fwmark 9\n}\nvirtual_server group G {\n lb_kind NAT\n protocol TCP\n real_server 198.18.3.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", "whole",
			[]string{"address: 198.18.2.1:80", "address: 198.18.2.3:80", "address: 198.18.2.4:80", "fwmark: 9"}},
		{"LVS/virtual_server_group IPv6 range", "virtual_server_group G {\n 2001:2::fe-101 80\n}\nvirtual_server group G {\n protocol TCP\n real_server 2001:2::1:1 80 {\n }\n}\n", "whole",
			[]string{`address: "[2001:2::fe]:80"`, "[2001:2::ff]:80", "[2001:2::100]:80", "[2001:2::101]:80"}},
		{"LVS/virtual_server_group unknown", "virtual_server group G {\n}\n", "refused", []string{"no virtual_server_group"}},
		{"LVS/real_server without port on fwmark", "virtual_server fwmark 5 {\n protocol TCP\n real_server 198.18.3.1 {\n  TCP_CHECK {\n   connect_port 80\n  }\n }\n}\n", "whole", []string{"address: 198.18.3.1:0", "port: 80"}},
		{"LVS/real_server and sorry_server without port take the service's", "virtual_server 198.18.2.1 8080 {\n sorry_server 198.18.3.9\n real_server 198.18.3.1 {\n }\n}\n", "whole", []string{"sorry_server: 198.18.3.9:8080", "address: 198.18.3.1:8080"}},
		{"LVS/status_code ranges", "virtual_server 198.18.2.1 80 {\n real_server 198.18.3.1 80 {\n  HTTP_GET {\n   url {\n    path /\n    status_code 200-299 503\n   }\n  }\n }\n}\n", "whole", []string{"- 200-299\n", "- 503\n"}},
		{"LVS/HTTP_GET several urls", "virtual_server 198.18.2.1 80 {\n real_server 198.18.3.1 80 {\n  HTTP_GET {\n   url {\n    path /a\n   }\n   url {\n    path /b\n    digest 9b3a0c85a887a256d6939da88aabd8cd\n   }\n  }\n }\n}\n", "whole", []string{"path: /a", "checks:\n          - type: http\n            path: /b\n            digest: 9b3a0c85a887a256d6939da88aabd8cd"}},
		{"LVS/delay_before_retry", "virtual_server 198.18.2.1 80 {\n delay_loop 10\n real_server 198.18.3.1 80 {\n  TCP_CHECK {\n   retry 2\n   delay_before_retry 2\n  }\n }\n}\n", "whole", []string{"interval: 10s", "retry_interval: 2s", "fall: 3"}},
		{"LVS/PING_CHECK", "virtual_server 198.18.2.1 53 {\n protocol UDP\n real_server 198.18.3.1 53 {\n  PING_CHECK {\n  }\n }\n}\n", "whole", []string{"type: icmp"}},
		{"LVS/UDP_CHECK", "virtual_server 198.18.2.1 53 {\n protocol UDP\n real_server 198.18.3.1 53 {\n  UDP_CHECK {\n   payload Ab12f 3\n   require_reply 01\n  }\n }\n}\n", "whole", []string{"type: udp", "payload: ab120f03", "require_reply: true", "expect: \"01\""}},
		{"LVS/DNS_CHECK", "virtual_server 198.18.2.1 53 {\n protocol UDP\n real_server 198.18.3.1 53 {\n  DNS_CHECK {\n   type A\n   name example.org\n  }\n }\n}\n", "whole", []string{"type: dns", "query_name: example.org", "query_type: A", "fall: 4"}},
		{"LVS/SMTP_CHECK hosts", "virtual_server 198.18.2.1 25 {\n real_server 198.18.3.1 25 {\n  SMTP_CHECK {\n   helo_name mx.example.org\n   host {\n    connect_ip 198.18.3.1\n   }\n   host {\n    connect_ip 198.18.3.2\n    bindto 198.18.2.9\n   }\n  }\n }\n}\n", "whole",
			[]string{"address: 198.18.3.1\n", "address: 198.18.3.2\n            source: 198.18.2.9"}},
		{"LVS/real server mail alerts without smtp_server", "global_defs {\n notification_email {\n  ops@example.com\n }\n}\nvirtual_server 198.18.2.1 80 {\n real_server 198.18.3.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", "whole", nil},
		{"LVS/real server mail alerts by default", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1\n}\nvirtual_server 198.18.2.1 80 {\n real_server 198.18.3.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", "whole", []string{"smtp_server: 198.18.0.1:25\n    to:\n      - ops@example.com"}},
		{"LVS/real server mail alerts off", "global_defs {\n notification_email {\n  ops@example.com\n }\n smtp_server 198.18.0.1\n smtp_alert_checker false\n}\nvirtual_server 198.18.2.1 80 {\n real_server 198.18.3.1 80 {\n  TCP_CHECK {\n  }\n }\n}\n", "whole", []string{"smtp_alert: false"}},
		{"LVS/quorum_up", "virtual_server 198.18.2.1 80 {\n quorum_up /bin/true\n real_server 198.18.3.1 80 {\n }\n}\n", "whole", []string{"quorum_up:\n      - /bin/true"}},
		{"LVS/omega runs quorum_down", "virtual_server 198.18.2.1 80 {\n omega\n quorum_down \"/bin/echo down\"\n real_server 198.18.3.1 80 {\n }\n}\n", "whole", []string{"quorum_down:\n      - /bin/echo\n      - down\n    omega: true"}},
		{"LVS/omega without quorum_down", "virtual_server 198.18.2.1 80 {\n omega\n real_server 198.18.3.1 80 {\n }\n}\n", "whole", nil},
		{"Conditional configuration/@ID not matching", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n@other priority 50\n virtual_ipaddress {\n  198.18.1.100/24\n }\n}\n", "whole", []string{"vrid: 7\n    version: 2\n    advert"}},
		{"Conditional configuration/@^ID", "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 7\n@^other priority 50\n virtual_ipaddress {\n  198.18.1.100/24\n }\n}\n", "whole", []string{"priority: 50"}},
		{"TOP LEVEL/net_namespace", "net_namespace blue\n" + vi + "}\n", "lossy", []string{"namespace"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := importString(t, tc.src)
			got, why := verdict(r)
			if got != tc.verdict {
				t.Fatalf("verdict %s, want %s: %v", got, tc.verdict, why)
			}
			text := strings.Join(why, "\n")
			if got != "refused" {
				y, err := r.YAML()
				if err != nil {
					t.Fatal(err)
				}
				if _, err := config.Parse("out.yaml", y); err != nil {
					t.Fatalf("vrrpd rejects the conversion: %v\n%s", err, y)
				}
				text += "\n" + string(y)
			}
			for _, w := range tc.want {
				if tail, ok := strings.CutPrefix(w, "END:"); ok {
					if !strings.HasSuffix(text, tail) {
						t.Errorf("output does not end with %q:\n%s", tail, text)
					}
					continue
				}
				if !strings.Contains(text, w) {
					t.Errorf("%q not in:\n%s", w, text)
				}
			}
		})
	}
}

// TestInclude follows keepalived.conf(5) "include": globs relative to the
// including file's directory, and a name that matches nothing is an error;
// so are parameter definitions and sequences, which are not expanded.
func TestInclude(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("conf.d/a.conf", "vrrp_instance A {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n  198.18.1.1\n }\n}\n")
	write("conf.d/b.conf", "vrrp_instance B {\n interface eth0\n virtual_router_id 2\n virtual_ipaddress {\n  198.18.1.2\n }\n}\n")
	main := write("keepalived.conf", "include conf.d/*.conf\n")
	r, err := Import(t.Context(), main, Options{LookPath: fakePath})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Config.Instances) != 2 {
		t.Errorf("instances %d, want both included files", len(r.Config.Instances))
	}
	for _, missing := range []string{"include nope.conf\n", "include none.d/*.conf\n", "$IF=eth0\n", "~SEQ(i, 1, 3) x\n"} {
		p := write("missing.conf", missing)
		if _, err := Import(t.Context(), p, Options{}); err == nil || !strings.Contains(err.Error(), "missing.conf:1: ") {
			t.Errorf("%q: err = %v, want an error naming the include line", missing, err)
		}
	}
}

// TestImportStopsOnCancel: a canceled context stops a conversion (Ctrl-C
// on a huge file) with the context's error.
func TestImportStopsOnCancel(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.conf")
	if err := os.WriteFile(p, []byte(bigConf(1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := Import(ctx, p, Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
