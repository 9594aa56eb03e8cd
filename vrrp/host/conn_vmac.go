package host

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"

	"github.com/hachat/hachat/vrrp"
)

// Why a virtual MAC interface needs its own receive path.
//
// RFC 5798 §7.3 has a Master send its adverts from the virtual router MAC,
// and keepalived's use_vmac (without vmac_xmit_base) does. While we are
// Master our own macvlan carries that very MAC, and the Linux macvlan
// driver takes any multicast frame whose source MAC is one of its private
// macvlans' for that macvlan's own frame reflected by the switch: it hands
// it to the macvlan alone, and the interface our VRRP socket is bound to
// never sees it. A higher-priority peer would then never be heard and both
// routers would stay Master. The macvlan's IP layer drops the frame too (it
// has no address and no group membership), so we read it at the link layer:
// VMACConn takes, on the macvlan, exactly the VRRP frames whose source is
// the virtual MAC. Frames from any other source still reach the parent
// interface's socket, so no advert is heard twice.

// ethHeaderLen is the length of an Ethernet II header without VLAN tag.
const ethHeaderLen = 14

// Ethernet types of the frames VMACConn reads.
const (
	ethTypeIPv4 = 0x0800
	ethTypeIPv6 = 0x86dd
)

// ParseVMACFrame extracts the VRRP packet from an Ethernet frame received on
// a virtual MAC interface. It accepts only frames whose source MAC is mac,
// of the family ipv6 selects, carrying IP protocol 112 directly (for IPv6:
// no extension header, as RFC 5798 §5.1.2 sends none). The returned
// Payload aliases frame. ok is false for any other frame: it is not ours
// to judge, the parent interface's socket sees it.
func ParseVMACFrame(frame []byte, mac net.HardwareAddr, ipv6 bool) (p vrrp.Packet, ok bool) {
	if len(frame) < ethHeaderLen || !bytes.Equal(frame[6:12], mac) {
		return vrrp.Packet{}, false
	}
	et := binary.BigEndian.Uint16(frame[12:14])
	ip := frame[ethHeaderLen:]
	if ipv6 {
		if et != ethTypeIPv6 || len(ip) < 40 || ip[0]>>4 != 6 || ip[6] != vrrp.IPProtocolVRRP {
			return vrrp.Packet{}, false
		}
		n := int(binary.BigEndian.Uint16(ip[4:6]))
		if 40+n > len(ip) {
			return vrrp.Packet{}, false
		}
		return vrrp.Packet{
			Src: netip.AddrFrom16([16]byte(ip[8:24])), Dst: netip.AddrFrom16([16]byte(ip[24:40])),
			TTL: int(ip[7]), Payload: ip[40 : 40+n],
		}, true
	}
	if et != ethTypeIPv4 || len(ip) < 20 || ip[0]>>4 != 4 || ip[9] != vrrp.IPProtocolVRRP {
		return vrrp.Packet{}, false
	}
	hl, total := int(ip[0]&0x0f)*4, int(binary.BigEndian.Uint16(ip[2:4]))
	if hl < 20 || total < hl || total > len(ip) || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 {
		return vrrp.Packet{}, false // bad lengths, or a fragment: the kernel reassembles those for the parent
	}
	return vrrp.Packet{
		Src: netip.AddrFrom4([4]byte(ip[12:16])), Dst: netip.AddrFrom4([4]byte(ip[16:20])),
		TTL: int(ip[8]), Payload: ip[hl:total],
	}, true
}
