package vrrp

import (
	"net/netip"
	"testing"
)

// TestRFC5798_7_1_ReceiveDrops checks that RxPolicy.Check refuses each bad
// packet with its own reason, and that DropReasons lists every reason a test
// here or in TestRFC5798_7_1_ParseDrops produces.
func TestRFC5798_7_1_ReceiveDrops(t *testing.T) {
	good := mustHex(t, goldenAdverts[0].hex) // VRID 51 from 198.18.0.1
	peer := v4Src
	other := netip.MustParseAddr("198.18.0.77")
	known := func(v uint8) bool { return v == 51 }
	tests := []struct {
		name string
		p    RxPolicy
		b    []byte
		src  netip.Addr
		ttl  int
		want DropReason
	}{
		{"ok multicast", RxPolicy{KnownVRID: known}, good, peer, 255, ""},
		{"ok listed unicast peer", RxPolicy{KnownVRID: known, Peers: []netip.Addr{other, peer}}, good, peer, 255, ""},
		{"ok nil VRID filter", RxPolicy{}, good, peer, 255, ""},
		{"TTL 254 (routed)", RxPolicy{KnownVRID: known}, good, peer, 254, DropTTL},
		{"TTL 1", RxPolicy{}, good, peer, 1, DropTTL},
		{"own packet", RxPolicy{Local: []netip.Addr{peer}}, good, peer, 255, DropLocalEcho},
		{"own packet mapped", RxPolicy{Local: []netip.Addr{netip.MustParseAddr("::ffff:198.18.0.1")}}, good, peer, 255, DropLocalEcho},
		{"unlisted unicast source", RxPolicy{Peers: []netip.Addr{other}}, good, peer, 255, DropUnknownPeer},
		{"unknown VRID", RxPolicy{KnownVRID: func(v uint8) bool { return v == 52 }}, good, peer, 255, DropVRID},
		{"parse error passes through", RxPolicy{KnownVRID: known}, good[:7], peer, 255, DropShort},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.p.Check(tc.b, tc.src, v4Dst, tc.ttl)
			if got := dropReason(err); got != tc.want {
				t.Fatalf("Check = %v, reason %q, want %q", err, got, tc.want)
			}
			if (a != nil) != (tc.want == "") {
				t.Errorf("advert %v with reason %q", a, tc.want)
			}
		})
	}
}

// TestDropReasonsComplete keeps DropReasons in step with the constants, so
// a metrics exporter that pre-creates counters from it misses none.
func TestDropReasonsComplete(t *testing.T) {
	want := []DropReason{DropTTL, DropChecksum, DropVersion, DropType, DropVRID, DropShort,
		DropUnknownPeer, DropAddrFamily, DropInterval, DropLocalEcho, DropLength, DropAddrCount}
	seen := map[DropReason]bool{}
	for _, r := range DropReasons {
		if seen[r] {
			t.Errorf("duplicate %q", r)
		}
		seen[r] = true
	}
	for _, r := range want {
		if !seen[r] {
			t.Errorf("DropReasons misses %q", r)
		}
	}
	if len(DropReasons) != len(want) {
		t.Errorf("DropReasons has %d entries, want %d", len(DropReasons), len(want))
	}
}
