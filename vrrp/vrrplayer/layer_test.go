package vrrplayer

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
	"github.com/hachat/hachat/vrrp"
)

// readCapture returns the Ethernet frames of the keepalived capture.
func readCapture(t *testing.T) [][]byte {
	t.Helper()
	return readPcap(t, "../testdata/keepalived-2.2.7-vrrpv3.pcap")
}

func readPcap(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var frames [][]byte
	for {
		data, _, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatal(err)
		}
		frames = append(frames, data)
	}
}

// TestLayerDecodesKeepalivedCapture decodes every frame keepalived sent
// through gopacket's IPv4/IPv6 decoders, which must hand IP protocol 112 to
// LayerTypeVRRPv3, and checks each checksum against its IP addresses.
func TestLayerDecodesKeepalivedCapture(t *testing.T) {
	frames := readCapture(t)
	if len(frames) < 10 {
		t.Fatalf("capture has %d frames, want at least 10", len(frames))
	}
	var n4, n6 int
	for i, data := range frames {
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("frame %d: %v", i, el.Error())
		}
		l, ok := p.Layer(LayerTypeVRRPv3).(*VRRPv3)
		if !ok {
			t.Fatalf("frame %d: no VRRPv3 layer in %v", i, p)
		}
		var src, dst netip.Addr
		switch ip := p.NetworkLayer().(type) {
		case *layers.IPv4:
			src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
			n4++
		case *layers.IPv6:
			src, _ = netip.AddrFromSlice(ip.SrcIP)
			dst, _ = netip.AddrFromSlice(ip.DstIP)
			n6++
		}
		if form, ok := l.VerifyChecksum(src, dst); !ok || form != vrrp.ChecksumPseudoHeader {
			t.Errorf("frame %d: checksum form %v ok %v", i, form, ok)
		}
		if _, err := vrrp.ParseAdvert(l.LayerContents(), src, dst); err != nil {
			t.Errorf("frame %d: %v", i, err)
		}
		if l.Version != 3 || (l.VRID != 51 && l.VRID != 52) {
			t.Errorf("frame %d: %+v", i, l.Advert)
		}
	}
	if n4 == 0 || n6 == 0 {
		t.Errorf("decoded %d IPv4 and %d IPv6 adverts, want both", n4, n6)
	}
}

// TestLayerSerializesKeepalivedFrame rebuilds keepalived's first IPv4
// packet (IPv4 with TOS 0xc0 and ID 1, then VRRPv3) with gopacket and our
// layer, and compares every byte after the Ethernet header (gopacket pads
// short Ethernet frames, the kernel's veth capture does not).
func TestLayerSerializesKeepalivedFrame(t *testing.T) {
	var want []byte
	for _, data := range readCapture(t) {
		if bytes.Equal(data[12:14], []byte{0x08, 0x00}) {
			want = data
			break
		}
	}
	want = want[14:]
	ip := &layers.IPv4{
		Version: 4, TOS: 0xc0, Id: 1, TTL: 255, Protocol: layers.IPProtocolVRRP,
		SrcIP: net.IP(v4Src.AsSlice()), DstIP: net.IP(v4Dst.AsSlice()),
	}
	v := &VRRPv3{Advert: vrrp.Advert{VRID: 51, Priority: 100, MaxAdvertInt: time.Second,
		Addresses: addrs("198.18.0.100", "198.18.0.101")}}
	if err := v.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, ip, v); err != nil {
		t.Fatal(err)
	}
	if got := buf.Bytes(); !bytes.Equal(got, want) {
		t.Errorf("serialized packet\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
}

func TestLayerSerializeWithoutChecksum(t *testing.T) {
	v := &VRRPv3{Advert: goldenAdverts[3].want} // IPv6, checksum as captured
	buf := gopacket.NewSerializeBuffer()
	if err := v.SerializeTo(buf, gopacket.SerializeOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(buf.Bytes()); got != goldenAdverts[3].hex {
		t.Errorf("got %s, want %s", got, goldenAdverts[3].hex)
	}
	if err := v.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); !errors.Is(err, ErrNoNetworkLayer) {
		t.Errorf("checksum without network layer: %v, want ErrNoNetworkLayer", err)
	}
}

// TestLayerMessageOnlyForm serializes with the RFC 9568 form.
func TestLayerMessageOnlyForm(t *testing.T) {
	ip := &layers.IPv4{SrcIP: net.IP(v4Src.AsSlice()), DstIP: net.IP(v4Dst.AsSlice())}
	v := &VRRPv3{Advert: goldenAdverts[2].want, ChecksumForm: vrrp.ChecksumMessageOnly}
	if err := v.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := v.SerializeTo(buf, gopacket.SerializeOptions{ComputeChecksums: true}); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(buf.Bytes()); got != goldenAdverts[2].hex {
		t.Errorf("got %s, want %s", got, goldenAdverts[2].hex)
	}
}

// TestLayerDecodingLayerParser uses the zero-allocation parser path.
func TestLayerDecodingLayerParser(t *testing.T) {
	var (
		eth  layers.Ethernet
		ip4  layers.IPv4
		ip6  layers.IPv6
		vrrp VRRPv3
	)
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &vrrp)
	var decoded []gopacket.LayerType
	for i, data := range readCapture(t) {
		if err := parser.DecodeLayers(data, &decoded); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if decoded[len(decoded)-1] != LayerTypeVRRPv3 {
			t.Fatalf("frame %d: decoded %v", i, decoded)
		}
	}
}

// TestLayerPassesVRRPv2ToGopacket checks that registering VRRPv3 for
// protocol 112 keeps gopacket's VRRPv2 decoding for version 2 packets.
func TestLayerPassesVRRPv2ToGopacket(t *testing.T) {
	// VRRPv2: version 2 type 1, VRID 1, prio 100, 1 address, auth 0,
	// interval 1 s, checksum, address, 8 bytes of authentication data.
	v2 := mustHex(t, "2101640100010000c6120064"+"0000000000000000")
	ip := &layers.IPv4{Version: 4, TTL: 255, Protocol: layers.IPProtocolVRRP,
		SrcIP: net.IP(v4Src.AsSlice()), DstIP: net.IP(v4Dst.AsSlice())}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ip, gopacket.Payload(v2)); err != nil {
		t.Fatal(err)
	}
	p := gopacket.NewPacket(buf.Bytes(), layers.LayerTypeIPv4, gopacket.Default)
	if p.Layer(layers.LayerTypeVRRP) == nil {
		t.Fatalf("version 2 packet not decoded as VRRPv2: %v", p)
	}
	if p.Layer(LayerTypeVRRPv3) != nil {
		t.Fatalf("version 2 packet decoded as VRRPv3")
	}
}

func TestLayerDecodeErrors(t *testing.T) {
	var v VRRPv3
	for _, tc := range []struct {
		hex  string
		want vrrp.DropReason
	}{
		{"3133", vrrp.DropShort},
		{"31336402006436d1c6120064c612", vrrp.DropShort},
		{"4133640200640000c6120064c6120065", vrrp.DropVersion},
		{"2133640200640000c6120064c6120065", vrrp.DropShort}, // VRRPv2 without its Authentication Data
	} {
		if err := v.DecodeFromBytes(mustHex(t, tc.hex), gopacket.NilDecodeFeedback); dropReason(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.hex, err, tc.want)
		}
	}
}

// TestLayerMarksTruncation: a short VRRP message marks the packet
// truncated; a wrong version does not.
func TestLayerMarksTruncation(t *testing.T) {
	for _, tc := range []struct {
		hex       string
		truncated bool
	}{
		{"31336402006436d1c6120064c612", true},
		{"3133640200640000c6120064c6120065", false}, // bad checksum is not the layer's business
		{"4133640200640000c6120064c6120065", false},
	} {
		p := gopacket.NewPacket(mustHex(t, tc.hex), LayerTypeVRRPv3, gopacket.Default)
		if got := p.Metadata().Truncated; got != tc.truncated {
			t.Errorf("%s: truncated %v, want %v", tc.hex, got, tc.truncated)
		}
	}
}

// TestRFC3768_5_KeepalivedV2CaptureDecodes reads every VRRPv2 advert of the
// keepalived capture (vrrp_version 2) with our layer and ParseAdvert: the
// layout of RFC 3768 §5.1 and its checksum without pseudo-header (§5.3.8).
func TestRFC3768_5_KeepalivedV2CaptureDecodes(t *testing.T) {
	frames := readPcap(t, "../testdata/keepalived-2.2.7-vrrpv2.pcap")
	if len(frames) != 4 {
		t.Fatalf("capture has %d frames, want 4", len(frames))
	}
	for i, data := range frames {
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			t.Fatalf("frame %d: no IPv4 layer", i)
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		var l VRRPv3
		if err := l.DecodeFromBytes(ip.Payload, gopacket.NilDecodeFeedback); err != nil {
			t.Fatalf("frame %d: layer: %v", i, err)
		}
		if form, ok := l.VerifyChecksum(src, dst); !ok || form != vrrp.ChecksumMessageOnly {
			t.Errorf("frame %d: checksum verifies %v as %v, want the message-only form", i, ok, form)
		}
		a, err := vrrp.ParseAdvert(ip.Payload, src, dst)
		if err != nil || a.Version != 2 || a.VRID != 51 || a.MaxAdvertInt != time.Second || len(a.Addresses) != 2 {
			t.Errorf("frame %d: %+v, %v; want VRRPv2 VRID 51, 1s, two addresses", i, a, err)
		}
	}
}

// TestRFC3768_5_3_6_KeepalivedPassCaptureDecodes reads the adverts of
// keepalived with `auth_type PASS auth_pass 1111`: Auth Type 1, the
// password zero-padded to 8 bytes (RFC 3768 §5.3.6.1), and an instance
// configured with the same password takes them.
func TestRFC3768_5_3_6_KeepalivedPassCaptureDecodes(t *testing.T) {
	frames := readPcap(t, "../testdata/keepalived-2.2.7-vrrpv2-pass.pcap")
	if len(frames) != 4 {
		t.Fatalf("capture has %d frames, want 4", len(frames))
	}
	pw, err := vrrp.PasswordAuth("1111")
	if err != nil {
		t.Fatal(err)
	}
	for i, data := range frames {
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		ip, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !ok {
			t.Fatalf("frame %d: no IPv4 layer", i)
		}
		src, _ := netip.AddrFromSlice(ip.SrcIP.To4())
		dst, _ := netip.AddrFromSlice(ip.DstIP.To4())
		a, err := vrrp.ParseAdvert(ip.Payload, src, dst)
		if err != nil || a.Version != 2 || a.AuthType != vrrp.AuthPass || a.AuthData != pw.Data {
			t.Fatalf("frame %d: %+v, %v; want VRRPv2 with Auth Type 1 and 1111 padded to 8", i, a, err)
		}
		if r, ok := pw.Check(a); !ok {
			t.Errorf("frame %d: refused as %s by an instance with the same password", i, r)
		}
	}
}

// TestMain registers the layer for IP protocol 112, as a program that
// decodes VRRP with gopacket does once in main: the capture tests decode
// from Ethernet down and need it.
func TestMain(m *testing.M) {
	Register()
	os.Exit(m.Run())
}
