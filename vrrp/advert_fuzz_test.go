package vrrp

import (
	"bytes"
	"encoding/hex"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzParseAdvert checks the round trip parse -> marshal -> parse: whatever
// ParseAdvert accepts, Marshal reproduces (byte for byte when the reserved
// bits are zero and the same checksum form is used) and ParseAdvert accepts
// again with equal fields, and never panics (vrrplayer's FuzzLayerDecode
// checks that the gopacket layer agrees with ParseAdvert).
// Seeds are in testdata/fuzz/FuzzParseAdvert.
func FuzzParseAdvert(f *testing.F) {
	for _, g := range goldenAdverts {
		b, _ := hex.DecodeString(g.hex)
		f.Add(b, !g.src.Is4())
	}
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		src, dst := v4Src, v4Dst
		if v6 {
			src, dst = v6Src, v6Dst
		}
		a, form, err := ParseAdvertForm(b, src, dst)
		if err != nil {
			if dropReason(err) == "" {
				t.Fatalf("error %v is not a *DropError", err)
			}
			return
		}
		a2 := *a
		b2, err := a2.Marshal(src, dst, form)
		if err != nil {
			t.Fatalf("Marshal of a parsed advert %+v: %v", a, err)
		}
		// The v3 reserved bits are not kept; v2's Auth Type in their place is.
		if (a.Version == Version2 || b[4]&0xf0 == 0) && !bytes.Equal(b, b2) {
			t.Fatalf("round trip changed bytes:\n in %x\nout %x", b, b2)
		}
		back, err := ParseAdvert(b2, src, dst)
		if err != nil {
			t.Fatalf("ParseAdvert of Marshal output %x: %v", b2, err)
		}
		back.Checksum = a.Checksum // differs only when reserved bits were set
		if diff := cmp.Diff(a, back, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzMarshalAdvert builds adverts from fuzzed fields, so that the round
// trip is exercised on valid checksums too (random bytes rarely have one):
// whatever Marshal accepts, ParseAdvert must return unchanged.
func FuzzMarshalAdvert(f *testing.F) {
	f.Add(uint8(51), uint8(100), uint16(100), []byte{198, 18, 0, 100}, false, false)
	f.Add(uint8(52), uint8(0), uint16(4095), []byte("0123456789abcdef"), true, false)
	f.Add(uint8(1), uint8(255), uint16(1), []byte{198, 18, 0, 1, 198, 18, 0, 2}, false, true)
	f.Fuzz(func(t *testing.T, vrid, prio uint8, centis uint16, raw []byte, v6, messageOnly bool) {
		src, dst, alen := v4Src, v4Dst, 4
		if v6 {
			src, dst, alen = v6Src, v6Dst, 16
		}
		a := Advert{VRID: vrid, Priority: prio, MaxAdvertInt: time.Duration(centis) * 10 * time.Millisecond}
		for i := 0; i+alen <= len(raw) && len(a.Addresses) < 255; i += alen {
			ip, _ := netip.AddrFromSlice(raw[i : i+alen])
			a.Addresses = append(a.Addresses, ip)
		}
		form := ChecksumPseudoHeader
		if messageOnly {
			form = ChecksumMessageOnly
		}
		b, err := a.Marshal(src, dst, form)
		valid := centis >= 1 && centis <= 4095 && len(a.Addresses) > 0
		if (err == nil) != valid {
			t.Fatalf("Marshal(%+v) error %v, want valid=%v", a, err, valid)
		}
		if err != nil {
			return
		}
		got, gotForm, err := ParseAdvertForm(b, src, dst)
		if err != nil {
			t.Fatalf("ParseAdvert(%x): %v", b, err)
		}
		if diff := cmp.Diff(&a, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Fatalf("round trip (-marshalled +parsed):\n%s", diff)
		}
		// An IPv4 checksum verifies in one form only, except in the rare
		// case where the pseudo-header sums to zero, which cannot happen
		// with our fixed addresses; IPv6 always reports the pseudo-header.
		if want := form; v6 {
			want = ChecksumPseudoHeader
			if gotForm != want {
				t.Errorf("form %v, want %v", gotForm, want)
			}
		} else if gotForm != want {
			t.Errorf("form %v, want %v", gotForm, want)
		}
	})
}

// FuzzMarshalAdvertV2 is FuzzMarshalAdvert for VRRPv2 (RFC 3768): whatever
// Marshal accepts, ParseAdvert returns unchanged, Auth fields included.
func FuzzMarshalAdvertV2(f *testing.F) {
	f.Add(uint8(51), uint8(100), uint8(1), uint8(0), []byte{198, 18, 0, 100, 198, 18, 0, 101}, []byte{})
	f.Add(uint8(1), uint8(0), uint8(255), uint8(1), []byte{198, 18, 0, 1}, []byte("password"))
	f.Fuzz(func(t *testing.T, vrid, prio, secs, authType uint8, raw, auth []byte) {
		a := Advert{Version: Version2, VRID: vrid, Priority: prio, MaxAdvertInt: time.Duration(secs) * time.Second, AuthType: authType}
		copy(a.AuthData[:], auth)
		for i := 0; i+4 <= len(raw) && len(a.Addresses) < 255; i += 4 {
			a.Addresses = append(a.Addresses, netip.AddrFrom4([4]byte(raw[i:i+4])))
		}
		b, err := a.Marshal(v4Src, v4Dst, ChecksumPseudoHeader) // the form is ignored: v2 has none
		if err != nil {
			return
		}
		got, form, err := ParseAdvertForm(b, v4Src, v4Dst)
		if err != nil || form != ChecksumMessageOnly {
			t.Fatalf("ParseAdvert of %x: form %v err %v", b, form, err)
		}
		a.Type = TypeAdvertisement
		if diff := cmp.Diff(&a, got, cmp.Comparer(func(x, y netip.Addr) bool { return x == y })); diff != "" {
			t.Fatalf("round trip (-sent +parsed):\n%s", diff)
		}
	})
}
