package config

import (
	"strings"
	"testing"
)

// TestChecksumStrictness: checksum is strict by default, lenient only when
// asked, anything else is refused with file:line; neither checksum option
// applies to VRRPv2, whose checksum has one form (RFC 3768 §5.3.8).
func TestChecksumStrictness(t *testing.T) {
	c, err := Parse("ok.yaml", []byte(base))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Instances[0].Checksum; got != "" && got != ChecksumStrict {
		t.Errorf("default checksum %q, want strict", got)
	}
	if c, err := Parse("ok.yaml", []byte(base+"    checksum: lenient\n")); err != nil || c.Instances[0].Checksum != ChecksumLenient {
		t.Errorf("checksum: lenient: %v", err)
	}
	v2 := base + "    version: 2\n"
	for _, tc := range []struct{ yaml, want string }{
		{base + "    checksum: loose\n", `t.yaml:7: instances[0].checksum: "loose": want strict`},
		{v2 + "    checksum: lenient\n", "t.yaml:8: instances[0].checksum: does not apply to version 2"},
		{v2 + "    checksum_message_only: true\n", "t.yaml:8: instances[0].checksum_message_only: does not apply to version 2"},
	} {
		_, err := Parse("t.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}

// TestV2CompatNeedsV3IPv4WholeSeconds: RFC 5798 §8.4.2 compatibility is a
// VRRPv3 feature for IPv4, with an interval VRRPv2 can carry.
func TestV2CompatNeedsV3IPv4WholeSeconds(t *testing.T) {
	if _, err := Parse("ok.yaml", []byte(base+"    v2_compat: true\n")); err != nil {
		t.Errorf("v2_compat with the default 1s: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{base + "    v2_compat: true\n    version: 2\n", "instances[0].v2_compat: applies to version 3 only"},
		{base + "    v2_compat: true\n    advert_interval: 100ms\n", "instances[0].advert_interval: 100ms: with v2_compat"},
	} {
		_, err := Parse("t.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
