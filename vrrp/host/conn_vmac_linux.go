//go:build linux

package host

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"github.com/hachat/hachat/vrrp"
	//lint:ignore SA1019 the project chose mdlayher/raw (a shim over mdlayher/packet on Linux)
	"github.com/mdlayher/raw"
	"golang.org/x/net/bpf"
)

// VMACConn is a receive-only Conn on a virtual MAC interface: it reads the
// VRRP frames the macvlan driver diverts from the parent interface because
// their source is the virtual MAC (see ParseVMACFrame). Sending stays with
// the parent interface's Conn.
type VMACConn struct {
	conn *raw.Conn
	ifi  *net.Interface
	mac  net.HardwareAddr
	v6   bool
}

// ErrReceiveOnly is returned by VMACConn.WritePacket.
var ErrReceiveOnly = errors.New("vrrp: virtual MAC receive socket does not send")

// ListenVMAC opens an AF_PACKET socket on the virtual MAC interface ifname
// that receives the VRRP frames of the family ipv6 selects sent from mac.
// The interface may be down; it receives once it is up. It needs
// CAP_NET_RAW.
func ListenVMAC(ifname string, ipv6 bool, mac net.HardwareAddr) (*VMACConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen on virtual MAC interface %s: %w", ifname, err)
	}
	et := uint16(ethTypeIPv4)
	if ipv6 {
		et = ethTypeIPv6
	}
	prog, err := bpf.Assemble(vmacFilter(mac, ipv6))
	if err != nil {
		return nil, fmt.Errorf("vrrp: virtual MAC filter: %w", err)
	}
	c, err := raw.ListenPacket(ifi, et, &raw.Config{Filter: prog})
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen on virtual MAC interface %s: %w", ifname, err)
	}
	return &VMACConn{conn: c, ifi: ifi, mac: mac, v6: ipv6}, nil
}

// vmacFilter keeps, in the kernel, only received (not outgoing) frames from
// mac carrying IP protocol 112, so other traffic never wakes the reader.
// ParseVMACFrame checks the same again.
func vmacFilter(mac net.HardwareAddr, ipv6 bool) []bpf.Instruction {
	const packetOutgoing = 4 // PACKET_OUTGOING
	proto := uint32(23)      // IPv4 protocol field
	if ipv6 {
		proto = 20 // IPv6 next header
	}
	hi := uint32(mac[0])<<24 | uint32(mac[1])<<16 | uint32(mac[2])<<8 | uint32(mac[3])
	lo := uint32(mac[4])<<8 | uint32(mac[5])
	return []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 6},
		bpf.LoadAbsolute{Off: 6, Size: 4},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: hi, SkipTrue: 4},
		bpf.LoadAbsolute{Off: 10, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: lo, SkipTrue: 2},
		bpf.LoadAbsolute{Off: proto, Size: 1},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: vrrp.IPProtocolVRRP, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
		bpf.RetConstant{Val: 65535},
	}
}

// ReadPacket implements Conn: the next VRRP packet sent from the virtual MAC.
func (c *VMACConn) ReadPacket(buf []byte) (vrrp.Packet, error) {
	for {
		n, _, err := c.conn.ReadFrom(buf)
		if errors.Is(err, syscall.ENETDOWN) {
			// The macvlan is down whenever we are not Master: the kernel
			// reports that once per change, and the socket stays bound.
			continue
		}
		if err != nil {
			return vrrp.Packet{}, err
		}
		if p, ok := ParseVMACFrame(buf[:n], c.mac, c.v6); ok {
			p.IfIndex = c.ifi.Index
			return p, nil
		}
	}
}

// WritePacket implements Conn; it always fails: adverts leave by the parent.
func (c *VMACConn) WritePacket([]byte, netip.Addr, netip.Addr) error { return ErrReceiveOnly }

// Close implements Conn.
func (c *VMACConn) Close() error { return c.conn.Close() }
