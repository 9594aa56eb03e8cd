package host

import (
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var testMAC = net.HardwareAddr{0x02, 0, 0x5e, 0x10, 0, 1}

func TestGARPFrame(t *testing.T) {
	for _, reply := range []bool{false, true} {
		b, err := GARPFrame(testMAC, netip.MustParseAddr("198.18.0.100"), reply)
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		arp, _ := p.Layer(layers.LayerTypeARP).(*layers.ARP)
		if eth == nil || arp == nil {
			t.Fatalf("frame does not decode as Ethernet+ARP: %v", p)
		}
		if eth.DstMAC.String() != "ff:ff:ff:ff:ff:ff" || eth.SrcMAC.String() != testMAC.String() {
			t.Errorf("ethernet %v -> %v", eth.SrcMAC, eth.DstMAC)
		}
		wantOp := uint16(layers.ARPRequest)
		if reply {
			wantOp = layers.ARPReply
		}
		if arp.Operation != wantOp || net.IP(arp.SourceProtAddress).String() != "198.18.0.100" ||
			net.IP(arp.DstProtAddress).String() != "198.18.0.100" || net.HardwareAddr(arp.SourceHwAddress).String() != testMAC.String() {
			t.Errorf("ARP %+v", arp)
		}
	}
	if _, err := GARPFrame(testMAC, netip.MustParseAddr("2001:db8::1"), false); err == nil {
		t.Error("GARP for an IPv6 address did not fail")
	}
}

func TestNAFrame(t *testing.T) {
	b, err := NAFrame(testMAC, netip.MustParseAddr("2001:db8::100"), true)
	if err != nil {
		t.Fatal(err)
	}
	p := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	ip6, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	na, _ := p.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement)
	icmp, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
	if ip6 == nil || na == nil || icmp == nil {
		t.Fatalf("frame does not decode as IPv6+NA: %v", p)
	}
	if ip6.HopLimit != 255 || ip6.DstIP.String() != "ff02::1" {
		t.Errorf("IPv6 hop limit %d dst %v", ip6.HopLimit, ip6.DstIP)
	}
	if na.TargetAddress.String() != "2001:db8::100" || na.Flags != naOverride|naRouter {
		t.Errorf("NA target %v flags %#x", na.TargetAddress, na.Flags)
	}
	if len(na.Options) != 1 || na.Options[0].Type != layers.ICMPv6OptTargetAddress || net.HardwareAddr(na.Options[0].Data).String() != testMAC.String() {
		t.Errorf("NA options %+v", na.Options)
	}
	// The checksum verifies: recompute it over the decoded layers.
	want := icmp.Checksum
	icmp.Checksum = 0
	_ = icmp.SetNetworkLayerForChecksum(ip6)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{ComputeChecksums: true}, icmp, gopacket.Payload(icmp.Payload)); err != nil {
		t.Fatal(err)
	}
	if icmp.Checksum != want {
		t.Errorf("ICMPv6 checksum %#x, recomputed %#x", want, icmp.Checksum)
	}
}
