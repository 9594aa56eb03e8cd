package vrrplayer

// Test vectors shared with package vrrp's tests (vrrp/advert_test.go): the
// layer must decode exactly what ParseAdvert does.

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/vrrp"
)

var (
	v4Src = netip.MustParseAddr("198.18.0.1")
	v4Dst = netip.MustParseAddr("224.0.0.18")
	v6Src = netip.MustParseAddr("fe80::c4d:beff:fea1:b6b0") // link-local of the keepalived capture
	v6Dst = netip.MustParseAddr("ff02::12")
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

var goldenAdverts = []struct {
	name     string
	src, dst netip.Addr
	form     vrrp.ChecksumForm
	hex      string
	want     vrrp.Advert
}{
	{
		name: "keepalived IPv4 prio 100 1s two addresses",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumPseudoHeader,
		hex: "31336402006436d1c6120064c6120065",
		want: vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0x36d1,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived IPv4 shutdown prio 0",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumPseudoHeader,
		hex: "3133000200649ad1c6120064c6120065",
		want: vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: 0, MaxAdvertInt: time.Second, Checksum: 0x9ad1,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "RFC 9568 IPv4 message-only checksum",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumMessageOnly,
		hex: "313364020064dd77c6120064c6120065",
		want: vrrp.Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0xdd77,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived VRRPv2 prio 100 1s two addresses",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumMessageOnly,
		hex: "213364020001eddac6120064c6120065" + "0000000000000000",
		want: vrrp.Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0xedda,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived VRRPv2 PASS 1111",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumMessageOnly,
		hex: "2133640201018a78c6120064c6120065" + "3131313100000000",
		want: vrrp.Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0x8a78,
			Addresses: addrs("198.18.0.100", "198.18.0.101"), AuthType: vrrp.AuthPass, AuthData: [8]byte{'1', '1', '1', '1'}},
	},
	{
		name: "keepalived VRRPv2 shutdown prio 0",
		src:  v4Src, dst: v4Dst, form: vrrp.ChecksumMessageOnly,
		hex: "21330002000151dbc6120064c6120065" + "0000000000000000",
		want: vrrp.Advert{Version: 2, Type: 1, VRID: 51, Priority: 0, MaxAdvertInt: time.Second, Checksum: 0x51db,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived IPv6 prio 200 500ms",
		src:  v6Src, dst: v6Dst, form: vrrp.ChecksumPseudoHeader,
		hex: "3134c8010032592120010db8000000000000000000000100",
		want: vrrp.Advert{Version: 3, Type: 1, VRID: 52, Priority: 200, MaxAdvertInt: 500 * time.Millisecond, Checksum: 0x5921,
			Addresses: addrs("2001:db8::100")},
	},
	{
		name: "keepalived IPv6 shutdown prio 0",
		src:  v6Src, dst: v6Dst, form: vrrp.ChecksumPseudoHeader,
		hex: "313400010032212220010db8000000000000000000000100",
		want: vrrp.Advert{Version: 3, Type: 1, VRID: 52, Priority: 0, MaxAdvertInt: 500 * time.Millisecond, Checksum: 0x2122,
			Addresses: addrs("2001:db8::100")},
	},
}

func dropReason(err error) vrrp.DropReason {
	var de *vrrp.DropError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}
