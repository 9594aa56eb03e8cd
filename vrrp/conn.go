package vrrp

import (
	"errors"
	"net/netip"
)

// Multicast groups of RFC 5798 §5.1.1.2 and §5.1.2.2.
var (
	MulticastGroup4 = netip.MustParseAddr("224.0.0.18")
	MulticastGroup6 = netip.MustParseAddr("ff02::12")
)

// Packet is one received VRRP packet: the IP payload and the header fields
// the receive checks need (RFC 5798 §7.1).
type Packet struct {
	Src, Dst netip.Addr
	TTL      int // IPv4 TTL or IPv6 Hop Limit
	IfIndex  int
	Payload  []byte // aliases the buffer given to ReadPacket
}

// Conn sends and receives VRRP packets (IP protocol 112) of one address
// family on one interface. The Linux implementation is a raw IP socket
// (host.ListenConn); tests use vrrptest.FakeConn.
type Conn interface {
	// ReadPacket blocks for the next packet; p.Payload aliases buf.
	ReadPacket(buf []byte) (p Packet, err error)
	// WritePacket sends payload from src to dst with TTL/Hop Limit 255.
	WritePacket(payload []byte, src, dst netip.Addr) error
	Close() error
}

// ErrClosed is returned by a closed Conn.
var ErrClosed = errors.New("vrrp: connection closed")

// GroupFor returns the multicast group for addresses of a's family.
func GroupFor(a netip.Addr) netip.Addr {
	if a.Is4() || a.Is4In6() {
		return MulticastGroup4
	}
	return MulticastGroup6
}

// Pender is implemented by a Conn that can tell, without reading, whether
// received packets are waiting in its socket.
type Pender interface {
	Pending() bool
}
