package vrrp

import (
	"encoding/hex"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

// goldenAdverts are VRRPv3 messages sent by keepalived 2.2.7 (Debian
// bookworm) in a network namespace, captured with tcpdump; the capture and
// its configuration are in testdata/keepalived-2.2.7-vrrpv3.*. keepalived
// sends the IPv4 checksum with the pseudo-header. The message-only row is
// computed by hand: the sum of the eight words 3133 6402 0064 0000 c612 0064
// c612 0065 is 0x22286, folded 0x2288, complemented 0xdd77. Adding the
// pseudo-header words c612 0001 e000 0012 0070 0010 (sum 0x1a6a5) gives
// 0x3c92b, folded 0xc92e, complemented 0x36d1: keepalived's value.
//
// The VRRPv2 rows are keepalived 2.2.7 with vrrp_version 2
// (testdata/keepalived-2.2.7-vrrpv2.*): interval in seconds, Auth Type 0,
// eight zero bytes of Authentication Data, and a checksum over the message
// alone (RFC 3768 §5.3.8): the words 2133 6402 0001 0000 c612 0064 c612 0065
// sum to 0x21225, folded 0x1227, complemented 0xedda.
//
// The PASS row is keepalived 2.2.7 with `auth_type PASS auth_pass 1111`
// (testdata/keepalived-2.2.7-vrrpv2-pass.*): Auth Type 1 and the password
// padded with zeros to 8 bytes (RFC 3768 §5.3.6.1, §5.3.10), inside the
// checksum: 2133 6402 0101 0000 c612 0064 c612 0065 3131 3131 0000 0000
// sum to 0x27585, folded 0x7587, complemented 0x8a78.
var goldenAdverts = []struct {
	name     string
	src, dst netip.Addr
	form     ChecksumForm
	hex      string
	want     Advert
}{
	{
		name: "keepalived IPv4 prio 100 1s two addresses",
		src:  v4Src, dst: v4Dst, form: ChecksumPseudoHeader,
		hex: "31336402006436d1c6120064c6120065",
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0x36d1,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived IPv4 shutdown prio 0",
		src:  v4Src, dst: v4Dst, form: ChecksumPseudoHeader,
		hex: "3133000200649ad1c6120064c6120065",
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 0, MaxAdvertInt: time.Second, Checksum: 0x9ad1,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "RFC 9568 IPv4 message-only checksum",
		src:  v4Src, dst: v4Dst, form: ChecksumMessageOnly,
		hex: "313364020064dd77c6120064c6120065",
		want: Advert{Version: 3, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0xdd77,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived VRRPv2 prio 100 1s two addresses",
		src:  v4Src, dst: v4Dst, form: ChecksumMessageOnly,
		hex: "213364020001eddac6120064c6120065" + "0000000000000000",
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0xedda,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived VRRPv2 PASS 1111",
		src:  v4Src, dst: v4Dst, form: ChecksumMessageOnly,
		hex: "2133640201018a78c6120064c6120065" + "3131313100000000",
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 100, MaxAdvertInt: time.Second, Checksum: 0x8a78,
			Addresses: addrs("198.18.0.100", "198.18.0.101"), AuthType: AuthPass, AuthData: [8]byte{'1', '1', '1', '1'}},
	},
	{
		name: "keepalived VRRPv2 shutdown prio 0",
		src:  v4Src, dst: v4Dst, form: ChecksumMessageOnly,
		hex: "21330002000151dbc6120064c6120065" + "0000000000000000",
		want: Advert{Version: 2, Type: 1, VRID: 51, Priority: 0, MaxAdvertInt: time.Second, Checksum: 0x51db,
			Addresses: addrs("198.18.0.100", "198.18.0.101")},
	},
	{
		name: "keepalived IPv6 prio 200 500ms",
		src:  v6Src, dst: v6Dst, form: ChecksumPseudoHeader,
		hex: "3134c8010032592120010db8000000000000000000000100",
		want: Advert{Version: 3, Type: 1, VRID: 52, Priority: 200, MaxAdvertInt: 500 * time.Millisecond, Checksum: 0x5921,
			Addresses: addrs("2001:db8::100")},
	},
	{
		name: "keepalived IPv6 shutdown prio 0",
		src:  v6Src, dst: v6Dst, form: ChecksumPseudoHeader,
		hex: "313400010032212220010db8000000000000000000000100",
		want: Advert{Version: 3, Type: 1, VRID: 52, Priority: 0, MaxAdvertInt: 500 * time.Millisecond, Checksum: 0x2122,
			Addresses: addrs("2001:db8::100")},
	},
}

func TestGoldenParse(t *testing.T) {
	for _, tc := range goldenAdverts {
		t.Run(tc.name, func(t *testing.T) {
			got, form, err := ParseAdvertForm(mustHex(t, tc.hex), tc.src, tc.dst)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(&tc.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("ParseAdvert (-want +got):\n%s", diff)
			}
			if form != tc.form {
				t.Errorf("checksum form = %v, want %v", form, tc.form)
			}
		})
	}
}

func TestGoldenMarshal(t *testing.T) {
	for _, tc := range goldenAdverts {
		t.Run(tc.name, func(t *testing.T) {
			a := tc.want
			a.Checksum = 0
			a.Type = 0 // Marshal fills these in
			if a.Version == Version3 {
				a.Version = 0
			}
			got, err := a.Marshal(tc.src, tc.dst, tc.form)
			if err != nil {
				t.Fatal(err)
			}
			if h := hex.EncodeToString(got); h != tc.hex {
				t.Errorf("Marshal = %s, want %s", h, tc.hex)
			}
			if a.Checksum != tc.want.Checksum {
				t.Errorf("a.Checksum = %#04x, want %#04x", a.Checksum, tc.want.Checksum)
			}
		})
	}
}

// TestRFC9568_5_2_8_BothChecksumFormsAccepted checks that for IPv4 a message
// verifies with the pseudo-header (RFC 5798) or without (RFC 9568), and that
// for IPv6 only the pseudo-header form is valid.
func TestRFC9568_5_2_8_BothChecksumFormsAccepted(t *testing.T) {
	a := Advert{VRID: 7, Priority: 120, MaxAdvertInt: 100 * time.Millisecond, Addresses: addrs("198.18.1.1")}
	for _, form := range []ChecksumForm{ChecksumPseudoHeader, ChecksumMessageOnly} {
		b, err := a.Marshal(v4Src, v4Dst, form)
		if err != nil {
			t.Fatal(err)
		}
		if _, got, err := ParseAdvertForm(b, v4Src, v4Dst); err != nil || got != form {
			t.Errorf("IPv4 %v: form %v err %v", form, got, err)
		}
	}
	// IPv6 ignores the form: the pseudo-header is mandatory (RFC 8200 §8.1).
	a6 := Advert{VRID: 7, Priority: 120, MaxAdvertInt: 100 * time.Millisecond, Addresses: addrs("2001:db8::1")}
	p, _ := a6.Marshal(v6Src, v6Dst, ChecksumPseudoHeader)
	m, _ := a6.Marshal(v6Src, v6Dst, ChecksumMessageOnly)
	if hex.EncodeToString(p) != hex.EncodeToString(m) {
		t.Errorf("IPv6 forms differ: %x vs %x", p, m)
	}
	// A message-only checksum must not verify for IPv6.
	mo := append([]byte(nil), p...)
	mo[6], mo[7] = 0, 0
	c := checksum(mo, netip.IPv4Unspecified(), netip.IPv4Unspecified(), ChecksumMessageOnly)
	mo[6], mo[7] = byte(c>>8), byte(c)
	if _, err := ParseAdvert(mo, v6Src, v6Dst); dropReason(err) != DropChecksum {
		t.Errorf("IPv6 message-only checksum: err %v, want %s", err, DropChecksum)
	}
}

func dropReason(err error) DropReason {
	var de *DropError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

// TestRFC5798_7_1_ParseDrops checks that each malformed message is refused
// with its named reason.
func TestRFC5798_7_1_ParseDrops(t *testing.T) {
	good := "31336402006436d1c6120064c6120065"
	// fix recomputes the pseudo-header checksum after a field is changed, so
	// that only the intended check fails.
	fix := func(h string) []byte {
		b := mustHex(t, h)
		b[6], b[7] = 0, 0
		c := checksum(b, v4Src, v4Dst, ChecksumPseudoHeader)
		b[6], b[7] = byte(c>>8), byte(c)
		return b
	}
	fixV2 := func(h string) []byte {
		b := mustHex(t, h)
		b[6], b[7] = 0, 0
		c := checksum(b, v4Src, v4Dst, ChecksumMessageOnly)
		b[6], b[7] = byte(c>>8), byte(c)
		return b
	}
	tests := []struct {
		name     string
		b        []byte
		src, dst netip.Addr
		want     DropReason
	}{
		{"empty", nil, v4Src, v4Dst, DropShort},
		{"header cut", mustHex(t, good)[:7], v4Src, v4Dst, DropShort},
		{"address cut", mustHex(t, good)[:14], v4Src, v4Dst, DropShort},
		{"IPv6 addresses announced in an IPv4 packet", mustHex(t, good), v6Src, v6Dst, DropShort},
		{"trailing byte", append(mustHex(t, good), 0), v4Src, v4Dst, DropLength},
		{"version 4", fix("4133640200640000c6120064c6120065"), v4Src, v4Dst, DropVersion},
		{"version 2 without authentication data", fix("2133640200010000c6120064c6120065"), v4Src, v4Dst, DropShort},
		{"version 2 interval 0", fixV2("213364020000" + "0000c6120064c6120065" + "0000000000000000"), v4Src, v4Dst, DropInterval},
		{"version 2 over IPv6", mustHex(t, "213364010001000020010db8000000000000000000000100"+"0000000000000000"), v6Src, v6Dst, DropAddrFamily},
		{"version 2 checksum with the pseudo-header", fix("213364020001" + "0000c6120064c6120065" + "0000000000000000"), v4Src, v4Dst, DropChecksum},
		{"version 0", fix("0133640200640000c6120064c6120065"), v4Src, v4Dst, DropVersion},
		{"type 2", fix("3233640200640000c6120064c6120065"), v4Src, v4Dst, DropType},
		{"count 0", fix("313364000064" + "0000"), v4Src, v4Dst, DropAddrCount},
		{"interval 0", fix("313364020000" + "0000c6120064c6120065"), v4Src, v4Dst, DropInterval},
		{"interval 0 with reserved bits", fix("31336402f000" + "0000c6120064c6120065"), v4Src, v4Dst, DropInterval},
		{"checksum off by one", func() []byte { b := mustHex(t, good); b[7]++; return b }(), v4Src, v4Dst, DropChecksum},
		{"wrong source address", mustHex(t, good), netip.MustParseAddr("198.18.0.2"), v4Dst, DropChecksum},
		{"mixed families", mustHex(t, good), v4Src, v6Dst, DropAddrFamily},
		{"no source", mustHex(t, good), netip.Addr{}, v4Dst, DropAddrFamily},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := ParseAdvert(tc.b, tc.src, tc.dst)
			if got := dropReason(err); got != tc.want {
				t.Fatalf("ParseAdvert = %+v, %v; want reason %s", a, err, tc.want)
			}
			if a != nil {
				t.Errorf("advert %+v returned with error", a)
			}
			var de *DropError
			if !errors.As(err, &de) || de.Unwrap() == nil || de.Error() == "" {
				t.Errorf("error %v is not a *DropError with a cause", err)
			}
		})
	}
}

func TestMarshalErrors(t *testing.T) {
	ok := Advert{VRID: 1, Priority: 100, MaxAdvertInt: time.Second, Addresses: addrs("198.18.0.100")}
	tests := []struct {
		name     string
		mod      func(a *Advert)
		src, dst netip.Addr
		want     error
	}{
		{"interval 0", func(a *Advert) { a.MaxAdvertInt = 0 }, v4Src, v4Dst, ErrBadInterval},
		{"interval 5ms", func(a *Advert) { a.MaxAdvertInt = 5 * time.Millisecond }, v4Src, v4Dst, ErrBadInterval},
		{"interval 15ms", func(a *Advert) { a.MaxAdvertInt = 15 * time.Millisecond }, v4Src, v4Dst, ErrBadInterval},
		{"interval 40.96s", func(a *Advert) { a.MaxAdvertInt = 40960 * time.Millisecond }, v4Src, v4Dst, ErrBadInterval},
		{"no address", func(a *Advert) { a.Addresses = nil }, v4Src, v4Dst, ErrAddrCount},
		{"256 addresses", func(a *Advert) { a.Addresses = make([]netip.Addr, 256) }, v4Src, v4Dst, ErrAddrCount},
		{"IPv6 address in IPv4 advert", func(a *Advert) { a.Addresses = addrs("2001:db8::1") }, v4Src, v4Dst, ErrAddrFamily},
		{"invalid address", func(a *Advert) { a.Addresses = []netip.Addr{{}} }, v4Src, v4Dst, ErrAddrFamily},
		{"mixed src dst", func(a *Advert) {}, v4Src, v6Dst, ErrAddrFamily},
		{"version 4", func(a *Advert) { a.Version = 4 }, v4Src, v4Dst, ErrBadHeader},
		{"version 2 interval 1.5s", func(a *Advert) { a.Version, a.MaxAdvertInt = 2, 1500*time.Millisecond }, v4Src, v4Dst, ErrBadInterval2},
		{"version 2 interval 256s", func(a *Advert) { a.Version, a.MaxAdvertInt = 2, 256*time.Second }, v4Src, v4Dst, ErrBadInterval2},
		{"version 2 over IPv6", func(a *Advert) { a.Version, a.Addresses = 2, addrs("2001:db8::1") }, v6Src, v6Dst, ErrAddrFamily},
		{"type 3", func(a *Advert) { a.Type = 3 }, v4Src, v4Dst, ErrBadHeader},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := ok
			tc.mod(&a)
			if _, err := a.Marshal(tc.src, tc.dst, ChecksumPseudoHeader); !errors.Is(err, tc.want) {
				t.Errorf("Marshal error %v, want %v", err, tc.want)
			}
		})
	}
}

// TestRFC5798_5_2_7_IntervalLimits checks the 12-bit centisecond field at its
// ends: 10 ms and 40.95 s survive a round trip, and the 4 reserved bits
// above it are ignored on receive.
func TestRFC5798_5_2_7_IntervalLimits(t *testing.T) {
	for _, d := range []time.Duration{MinAdvertInterval, 990 * time.Millisecond, MaxAdvertInterval} {
		a := Advert{VRID: 9, Priority: 1, MaxAdvertInt: d, Addresses: addrs("198.18.0.9")}
		b, err := a.Marshal(v4Src, v4Dst, ChecksumPseudoHeader)
		if err != nil {
			t.Fatalf("%v: %v", d, err)
		}
		got, err := ParseAdvert(b, v4Src, v4Dst)
		if err != nil || got.MaxAdvertInt != d {
			t.Errorf("%v: parsed %v, %v", d, got, err)
		}
	}
	// Reserved bits set: same interval, checksum recomputed over them.
	b := mustHex(t, "3133640290640000c6120064c6120065")
	c := checksum(b, v4Src, v4Dst, ChecksumPseudoHeader)
	b[6], b[7] = byte(c>>8), byte(c)
	got, err := ParseAdvert(b, v4Src, v4Dst)
	if err != nil || got.MaxAdvertInt != time.Second {
		t.Errorf("reserved bits: %+v, %v", got, err)
	}
}

// TestMarshalAcceptsMappedAddresses checks that IPv4-mapped IPv6 forms of
// IPv4 addresses, which net.IP conversions produce, are treated as IPv4.
func TestMarshalAcceptsMappedAddresses(t *testing.T) {
	a := Advert{VRID: 51, Priority: 100, MaxAdvertInt: time.Second,
		Addresses: addrs("::ffff:198.18.0.100", "198.18.0.101")}
	b, err := a.Marshal(netip.MustParseAddr("::ffff:198.18.0.1"), v4Dst, ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	if h := hex.EncodeToString(b); h != goldenAdverts[0].hex {
		t.Errorf("got %s, want %s", h, goldenAdverts[0].hex)
	}
}

func TestAppendMarshalReusesBuffer(t *testing.T) {
	a := goldenAdverts[0].want
	buf := make([]byte, 0, 64)
	b, err := a.AppendMarshal(buf[:0], v4Src, v4Dst, ChecksumPseudoHeader)
	if err != nil || &b[0] != &buf[:1][0] {
		t.Fatalf("AppendMarshal did not reuse the buffer: %v", err)
	}
	if allocs := testing.AllocsPerRun(100, func() { b, _ = a.AppendMarshal(buf[:0], v4Src, v4Dst, ChecksumPseudoHeader) }); allocs != 0 {
		t.Errorf("AppendMarshal allocates %v times per call, want 0", allocs)
	}
}

func TestSameAddresses(t *testing.T) {
	a := Advert{Addresses: addrs("198.18.0.100", "198.18.0.101")}
	for _, tc := range []struct {
		want []netip.Addr
		same bool
	}{
		{addrs("198.18.0.101", "198.18.0.100"), true},
		{addrs("::ffff:198.18.0.100", "198.18.0.101"), true},
		{addrs("198.18.0.100"), false},
		{addrs("198.18.0.100", "198.18.0.102"), false},
		{addrs("198.18.0.100", "198.18.0.100"), false},
		{nil, false},
	} {
		if got := a.SameAddresses(tc.want); got != tc.same {
			t.Errorf("SameAddresses(%v) = %v, want %v", tc.want, got, tc.same)
		}
	}
}
