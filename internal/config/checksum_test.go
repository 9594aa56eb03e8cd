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
