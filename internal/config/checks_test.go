package config

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// checkOn is a service whose one real server has the check given.
func checkOn(check string) string {
	return base + "virtual_servers:\n  - address: 198.18.1.100:53\n    real_servers:\n      - address: 198.18.2.21:53\n        check: " + check + "\n"
}

// TestCheckTypes: every check type of vrrpd.yaml(5) "VIRTUAL SERVERS",
// with the fields keepalived's checkers carry, parses.
func TestCheckTypes(t *testing.T) {
	for _, check := range []string{
		`{type: icmp}`,
		`{type: udp, payload: "0a0b", require_reply: true, expect: "0a"}`,
		`{type: smtp, helo: lb.example.org, address: 198.18.2.30, source: 198.18.1.1}`,
		`{type: dns, query_name: example.org, query_type: AAAA}`,
		`{type: http, status: [200, "300-399"], digest: 9b3a0c85a887a256d6939da88aabd8cd, retry_interval: 1s, interval: 5s}`,
		`{type: tcp, interval: 1s, timeout: 10s}`,
	} {
		t.Run(check, func(t *testing.T) {
			if _, err := Parse("t.yaml", []byte(checkOn(check))); err != nil {
				t.Fatal(err)
			}
		})
	}
	c, err := Parse("t.yaml", []byte(checkOn(`{type: http, status: [200, "300-399"]}`)))
	if err != nil {
		t.Fatal(err)
	}
	want := []StatusRange{{Lo: 200, Hi: 200}, {Lo: 300, Hi: 399}}
	if diff := cmp.Diff(want, c.VirtualServers[0].RealServers[0].Check.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}
	c, err = Parse("t.yaml", []byte(checkOn(`{type: dns}`)))
	if err != nil {
		t.Fatal(err)
	}
	if ch := c.VirtualServers[0].RealServers[0].Check; ch.QueryName != "." || ch.QueryType != "SOA" {
		t.Errorf("dns defaults %q %q, want . and SOA as keepalived's DNS_CHECK", ch.QueryName, ch.QueryType)
	}
}

// TestCheckErrors: a check field that does not fit is an error at its line.
func TestCheckErrors(t *testing.T) {
	fw := base + "virtual_servers:\n  - fwmark: 7\n    real_servers:\n      - address: 198.18.2.21:0\n        check: {type: tcp}\n"
	two := base + "virtual_servers:\n  - address: 198.18.1.100:80\n    real_servers:\n      - address: 198.18.2.21:80\n        check: {type: tcp, interval: 5s}\n        checks:\n          - {type: http, interval: 6s}\n"
	for _, tc := range []struct{ name, yaml, want string }{
		{"status range reversed", checkOn(`{type: http, status: ["300-200"]}`), "check.status[0]: 300-200 is not an HTTP status code"},
		{"status not a code", checkOn(`{type: http, status: [99]}`), "check.status[0]: 99 is not"},
		{"digest", checkOn(`{type: http, digest: abc}`), "check.digest: \"abc\" is not an MD5 digest"},
		{"field of another type", checkOn(`{type: tcp, helo: x}`), "check.helo: applies to [smtp] checks only"},
		{"payload not hex", checkOn(`{type: udp, payload: zz}`), "check.payload: \"zz\" is not hex"},
		{"expect without require_reply", checkOn(`{type: udp, expect: "0a"}`), "check.expect: set, but require_reply is false"},
		{"dns type", checkOn(`{type: dns, query_type: WKS}`), "check.query_type: unknown query type \"WKS\""},
		{"retry above interval", checkOn(`{type: tcp, interval: 1s, retry_interval: 2s}`), "check.retry_interval: 2s must be between 0 and the interval"},
		{"fwmark real server needs a check port", fw, "real_servers[0].checks[0].port: missing"},
		{"checks share a schedule", two, "real_servers[0].checks[0]: the checks of one real server probe together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.yaml))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("Parse: err = %v, want Errors", err)
			}
			for _, e := range es {
				if strings.Contains(e.Error(), tc.want) && e.Line > 0 {
					return
				}
			}
			t.Errorf("errors:\n%v\nwant one with a line containing %q", es, tc.want)
		})
	}
}
