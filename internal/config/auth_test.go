package config

import (
	"strings"
	"testing"
)

// TestRFC3768_5_3_6_Authentication: a VRRPv2 instance takes keepalived's
// simple text password (1-8 bytes, the Authentication Data of RFC 3768
// §5.3.10); a password on a VRRPv3-only instance, an over-long one and
// AH (removed by RFC 3768) are refused with file:line.
func TestRFC3768_5_3_6_Authentication(t *testing.T) {
	v2 := base + "    version: 2\n"
	c, err := Parse("ok.yaml", []byte(v2+"    authentication: {type: pass, password: \"1111\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Instances[0].Authentication; a.Type != AuthPass || a.Password != "1111" {
		t.Errorf("authentication %+v, want pass 1111", a)
	}
	if _, err := Parse("ok.yaml", []byte(base+"    v2_compat: true\n    authentication: {type: PASS, password: \"12345678\"}\n")); err != nil {
		t.Errorf("an 8-byte password with v2_compat: %v", err)
	}
	for _, tc := range []struct{ yaml, want string }{
		{base + "    authentication: {type: pass, password: \"1111\"}\n", "t.yaml:7: instances[0].authentication: needs VRRPv2 adverts"},
		{v2 + "    authentication: {type: pass, password: \"123456789\"}\n", "t.yaml:8: instances[0].authentication.password: 9 bytes: want 1-8"},
		{v2 + "    authentication: {type: pass}\n", "t.yaml:8: instances[0].authentication.password: 0 bytes: want 1-8"},
		{v2 + "    authentication: {type: ah, password: \"1111\"}\n", "t.yaml:8: instances[0].authentication.type: AH is not supported: RFC 3768 removed"},
		{v2 + "    authentication: {type: md5}\n", `t.yaml:8: instances[0].authentication.type: "md5": want pass`},
		{v2 + "    authentication: {password: \"1111\"}\n", "t.yaml:8: instances[0].authentication.type: missing"},
	} {
		_, err := Parse("t.yaml", []byte(tc.yaml))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
}
