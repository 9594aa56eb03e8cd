package host

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	ethBroadcast  = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	ethAllNodes   = net.HardwareAddr{0x33, 0x33, 0, 0, 0, 1} // ff02::1 (RFC 2464 §7)
	ipv6AllNodes  = netip.MustParseAddr("ff02::1")
	serializeOpts = gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
)

// NA flags of RFC 4861 §4.4.
const (
	naRouter   = 0x80
	naOverride = 0x20
)

// GARPFrame returns a gratuitous ARP frame for addr from mac: an ARP
// announcement (RFC 5227 §2.3: sender and target protocol address both addr)
// broadcast as a request when reply is false, or as a reply when true. Some
// hosts update their cache from one form only, so both are sent.
func GARPFrame(mac net.HardwareAddr, addr netip.Addr, reply bool) ([]byte, error) {
	if !addr.Is4() {
		return nil, fmt.Errorf("vrrp: gratuitous ARP for %v: not IPv4", addr)
	}
	op := uint16(layers.ARPRequest)
	if reply {
		op = layers.ARPReply
	}
	ip := addr.AsSlice()
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: ethBroadcast, EthernetType: layers.EthernetTypeARP}
	arp := &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: op,
		SourceHwAddress: mac, SourceProtAddress: ip,
		DstHwAddress: make(net.HardwareAddr, 6), DstProtAddress: ip,
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, eth, arp); err != nil {
		return nil, fmt.Errorf("vrrp: build gratuitous ARP for %v: %w", addr, err)
	}
	return buf.Bytes(), nil
}

// NAFrame returns an unsolicited Neighbor Advertisement for addr (RFC 4861
// §7.2.6): to all nodes, from addr itself, Override set, Router set when
// router is true, with the target link-layer address option.
func NAFrame(mac net.HardwareAddr, addr netip.Addr, router bool) ([]byte, error) {
	if !addr.Is6() || addr.Is4In6() {
		return nil, fmt.Errorf("vrrp: neighbour advertisement for %v: not IPv6", addr)
	}
	eth := &layers.Ethernet{SrcMAC: mac, DstMAC: ethAllNodes, EthernetType: layers.EthernetTypeIPv6}
	ip6 := &layers.IPv6{Version: 6, HopLimit: 255, NextHeader: layers.IPProtocolICMPv6, SrcIP: addr.AsSlice(), DstIP: ipv6AllNodes.AsSlice()}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	if err := icmp.SetNetworkLayerForChecksum(ip6); err != nil {
		return nil, err
	}
	flags := uint8(naOverride)
	if router {
		flags |= naRouter
	}
	na := &layers.ICMPv6NeighborAdvertisement{
		Flags: flags, TargetAddress: addr.AsSlice(),
		Options: layers.ICMPv6Options{{Type: layers.ICMPv6OptTargetAddress, Data: mac}},
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, serializeOpts, eth, ip6, icmp, na); err != nil {
		return nil, fmt.Errorf("vrrp: build neighbour advertisement for %v: %w", addr, err)
	}
	return buf.Bytes(), nil
}
