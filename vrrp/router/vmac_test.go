package router

import "testing"

func TestVirtualMAC(t *testing.T) {
	for _, tc := range []struct {
		vrid uint8
		v6   bool
		want string
	}{{1, false, "00:00:5e:00:01:01"}, {51, false, "00:00:5e:00:01:33"}, {255, true, "00:00:5e:00:02:ff"}} {
		if got := VirtualMAC(tc.vrid, tc.v6).String(); got != tc.want {
			t.Errorf("VirtualMAC(%d, %v) = %s, want %s (RFC 5798 §7.3)", tc.vrid, tc.v6, got, tc.want)
		}
	}
}
