package vrrp

import (
	"net/netip"
	"testing"
	"time"
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
		DropUnknownPeer, DropAddrFamily, DropInterval, DropLocalEcho, DropLength, DropAddrCount,
		DropChecksumForm, DropVersionMismatch, DropIntervalMismatch, DropV2Duplicate,
		DropAuthType, DropAuthPassword}
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

// TestDroppedAdvertsChangeNoState feeds a Backup and a Master, through
// RxPolicy.Check, adverts that would move them (priority 0 to the Backup,
// priority 255 to the Master) but are each broken in one way. None may reach
// the machine. The unbroken control packet does move them, so the test can
// fail.
func TestDroppedAdvertsChangeNoState(t *testing.T) {
	peer := upper4
	pol := RxPolicy{KnownVRID: func(v uint8) bool { return v == 51 }, Peers: []netip.Addr{peer}, Local: []netip.Addr{self4}}
	build := func(prio uint8) []byte {
		a := adv(prio, time.Second)
		b, err := a.Marshal(peer, v4Dst, ChecksumPseudoHeader)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	type pkt struct {
		name string
		b    []byte
		src  netip.Addr
		ttl  int
	}
	broken := func(prio uint8) []pkt {
		good := build(prio)
		mod := func(f func(b []byte)) []byte { b := append([]byte(nil), good...); f(b); return b }
		wrongVRID := adv(prio, time.Second)
		wrongVRID.VRID = 52
		wv, _ := wrongVRID.Marshal(peer, v4Dst, ChecksumPseudoHeader)
		return []pkt{
			{"ttl", good, peer, 64},
			{"checksum", mod(func(b []byte) { b[6] ^= 1 }), peer, 255},
			{"version", mod(func(b []byte) { b[0] = 0x21 }), peer, 255},
			{"type", mod(func(b []byte) { b[0] = 0x32 }), peer, 255},
			{"vrid", wv, peer, 255},
			{"short", good[:10], peer, 255},
			{"unlisted source", good, netip.MustParseAddr("198.18.0.99"), 255},
			{"own echo", good, self4, 255},
		}
	}
	receive := func(m *Machine, now time.Time, p pkt) {
		a, err := pol.Check(p.b, p.src, v4Dst, p.ttl)
		if err != nil {
			if dropReason(err) == "" {
				t.Errorf("%s: error without reason: %v", p.name, err)
			}
			return
		}
		m.Step(now, AdvertReceived{Advert: a, Src: p.src})
	}

	backup := newM(t, nil)
	backup.Step(at(0), Startup{})
	mst := master(t, nil)
	for _, tc := range []struct {
		m    *Machine
		prio uint8
	}{{backup, 0}, {mst, 255}} {
		state, dl := tc.m.State(), tc.m.Deadline()
		now := dl.Add(-time.Millisecond)
		for _, p := range broken(tc.prio) {
			receive(tc.m, now, p)
			if tc.m.State() != state || tc.m.Deadline() != dl {
				t.Errorf("%v: dropped %q packet changed state %v -> %v, deadline %v -> %v",
					state, p.name, state, tc.m.State(), dl.Sub(t0), tc.m.Deadline().Sub(t0))
			}
		}
		receive(tc.m, now, pkt{"control", build(tc.prio), peer, 255})
		if tc.m.State() == state && tc.m.Deadline() == dl {
			t.Errorf("%v: the control advert changed nothing; the test cannot fail", state)
		}
	}
}
