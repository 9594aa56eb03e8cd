package config

import (
	"strings"
	"testing"
	"time"
)

// TestKeepalivedConfAlerts checks global.alerts (keepalived.conf(5)
// notification_email, smtp_server, smtp_connect_timeout) and the smtp_alert
// defaults: off on instances, on for real servers unless the server or its
// service says otherwise.
func TestKeepalivedConfAlerts(t *testing.T) {
	const alerts = "global:\n  alerts:\n    smtp_server: 198.18.0.25\n    from: lb@example.org\n    to: [ops@example.org]\n"
	vs := "virtual_servers:\n  - address: 198.18.1.100:80\n    real_servers:\n      - address: 198.18.2.1:80\n      - address: 198.18.2.2:80\n        smtp_alert: false\n"
	for _, tc := range []struct {
		name    string
		yaml    string
		wantErr string
		check   func(t *testing.T, c *Config)
	}{
		{"defaults", alerts + base, "", func(t *testing.T, c *Config) {
			a := c.Global.Alerts
			if a.SMTPServer != "198.18.0.25:25" || a.ConnectTimeout != 30*time.Second || a.Helo != "localhost" {
				t.Errorf("defaults not applied: %+v", a)
			}
			if c.Instances[0].SMTPAlert {
				t.Error("instance smtp_alert defaults to true, want false")
			}
		}},
		{"instance smtp_alert", alerts + base + "    smtp_alert: true\n", "", func(t *testing.T, c *Config) {
			if !c.Instances[0].SMTPAlert {
				t.Error("smtp_alert: true not read")
			}
		}},
		{"real server default and override", alerts + base + vs, "", func(t *testing.T, c *Config) {
			v := &c.VirtualServers[0]
			if !v.Alerted(&v.RealServers[0]) || v.Alerted(&v.RealServers[1]) {
				t.Error("real server smtp_alert: want default true, explicit false")
			}
		}},
		{"service default off", alerts + base + strings.Replace(vs, "    real_servers:", "    smtp_alert: false\n    real_servers:", 1), "", func(t *testing.T, c *Config) {
			v := &c.VirtualServers[0]
			if v.Alerted(&v.RealServers[0]) {
				t.Error("service smtp_alert: false not inherited")
			}
		}},
		{"port kept", strings.Replace(alerts, "198.18.0.25", "198.18.0.25:2525", 1) + base, "", func(t *testing.T, c *Config) {
			if c.Global.Alerts.SMTPServer != "198.18.0.25:2525" {
				t.Errorf("server %q", c.Global.Alerts.SMTPServer)
			}
		}},
		{"no recipient", strings.Replace(alerts, "    to: [ops@example.org]\n", "", 1) + base, "global.alerts.to", nil},
		{"no server", strings.Replace(alerts, "    smtp_server: 198.18.0.25\n", "", 1) + base, "global.alerts.smtp_server", nil},
		{"header injection", strings.Replace(alerts, "lb@example.org", "\"a@b\\r\\nBcc: x@y\"", 1) + base, "global.alerts.from", nil},
		{"negative timeout", alerts + "    connect_timeout: -1s\n" + base, "global.alerts.connect_timeout", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse("t.yaml", []byte(tc.yaml))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
