package host

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/router"
)

// vmacFrame builds an Ethernet frame carrying adv from src to dst.
func vmacFrame(t testing.TB, from net.HardwareAddr, src, dst netip.Addr, proto layers.IPProtocol) []byte {
	t.Helper()
	adv := &vrrp.Advert{VRID: 51, Priority: 150, MaxAdvertInt: 100e6, Addresses: []netip.Addr{netip.MustParseAddr("198.18.1.100")}}
	if src.Is6() {
		adv.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::100")}
	}
	msg, err := adv.Marshal(src, dst, vrrp.ChecksumPseudoHeader)
	if err != nil {
		t.Fatal(err)
	}
	eth := &layers.Ethernet{SrcMAC: from, DstMAC: net.HardwareAddr{1, 0, 0x5e, 0, 0, 0x12}, EthernetType: layers.EthernetTypeIPv4}
	var ip gopacket.SerializableLayer
	if src.Is4() {
		ip = &layers.IPv4{Version: 4, IHL: 5, TTL: 255, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		ip = &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, gopacket.Payload(msg)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRFC5798Sec7_3AdvertFromVirtualMACIsRead: a Master sends its adverts
// from the virtual router MAC (RFC 5798 §7.3). The virtual MAC interface's
// socket reads exactly those, with the addresses and TTL the receive checks
// of §7.1 need, and leaves every other frame to the parent interface.
func TestRFC5798Sec7_3AdvertFromVirtualMACIsRead(t *testing.T) {
	vmac4, vmac6 := router.VirtualMAC(51, false), router.VirtualMAC(51, true)
	other := net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	s4, d4 := netip.MustParseAddr("198.18.1.11"), vrrp.MulticastGroup4
	s6, d6 := netip.MustParseAddr("fe80::1"), vrrp.MulticastGroup6
	for _, tc := range []struct {
		name  string
		frame []byte
		v6    bool
		want  bool
		src   netip.Addr
	}{
		{"ipv4 from the virtual MAC", vmacFrame(t, vmac4, s4, d4, vrrp.IPProtocolVRRP), false, true, s4},
		{"ipv6 from the virtual MAC", vmacFrame(t, vmac6, s6, d6, vrrp.IPProtocolVRRP), true, true, s6},
		{"ipv4 from another MAC", vmacFrame(t, other, s4, d4, vrrp.IPProtocolVRRP), false, false, s4},
		{"ipv4 not VRRP", vmacFrame(t, vmac4, s4, d4, layers.IPProtocolUDP), false, false, s4},
		{"ipv6 frame on the ipv4 socket", vmacFrame(t, vmac4, s6, d6, vrrp.IPProtocolVRRP), false, false, s6},
		{"truncated", vmacFrame(t, vmac4, s4, d4, vrrp.IPProtocolVRRP)[:30], false, false, s4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mac := vmac4
			if tc.v6 {
				mac = vmac6
			}
			p, ok := ParseVMACFrame(tc.frame, mac, tc.v6)
			if ok != tc.want {
				t.Fatalf("ok = %v, want %v", ok, tc.want)
			}
			if !ok {
				return
			}
			if p.Src != tc.src || p.TTL != 255 {
				t.Errorf("src %v TTL %d, want %v 255", p.Src, p.TTL, tc.src)
			}
			a, err := vrrp.ParseAdvert(p.Payload, p.Src, p.Dst)
			if err != nil || a.VRID != 51 || a.Priority != 150 {
				t.Errorf("payload parses to %+v, %v; want VRID 51 priority 150", a, err)
			}
		})
	}
}

// FuzzParseVMACFrame: no frame crashes the parser, and an accepted one's
// payload lies within the frame.
func FuzzParseVMACFrame(f *testing.F) {
	vmac := router.VirtualMAC(51, false)
	f.Add(vmacFrame(f, vmac, netip.MustParseAddr("198.18.1.11"), vrrp.MulticastGroup4, vrrp.IPProtocolVRRP), false)
	f.Add(vmacFrame(f, router.VirtualMAC(51, true), netip.MustParseAddr("fe80::1"), vrrp.MulticastGroup6, vrrp.IPProtocolVRRP), true)
	f.Fuzz(func(t *testing.T, b []byte, v6 bool) {
		mac := router.VirtualMAC(51, v6)
		p, ok := ParseVMACFrame(b, mac, v6)
		if ok && len(p.Payload) > len(b) {
			t.Fatalf("payload of %d bytes from a %d-byte frame", len(p.Payload), len(b))
		}
	})
}
