//go:build linux

package host

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"

	"github.com/hachat/hachat/vrrp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// ListenConn opens a raw IP socket for VRRP (protocol 112) bound to the
// interface, joined to 224.0.0.18 or ff02::12, sending with TTL/Hop Limit
// 255 (RFC 5798 §5.1.1.3, §5.1.2.3) and without multicast loopback. IPv4
// packets are sent with our own IP header (IP_HDRINCL), so the source the
// checksum covers is the source on the wire; IPv6 sets the source with
// IPV6_PKTINFO. It needs CAP_NET_RAW.
func ListenConn(ifname string, ipv6Family bool) (vrrp.Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen on %s: %w", ifname, err)
	}
	lc := boundTo(ifname, false)
	if ipv6Family {
		return listen6(lc, ifi)
	}
	return listen4(lc, ifi)
}

// boundTo is a ListenConfig whose sockets are bound to the interface
// (SO_BINDTODEVICE) and, with freebind, may send from an address the
// interface does not hold (IPV6_FREEBIND).
func boundTo(ifname string, freebind bool) net.ListenConfig {
	return net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		if err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE, ifname)
			if serr == nil && freebind {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_IPV6, unix.IPV6_FREEBIND, 1)
			}
		}); err != nil {
			return err
		}
		return serr
	}}
}

type conn4 struct {
	ifi *net.Interface
	pc  net.PacketConn
	raw *ipv4.RawConn
}

func listen4(lc net.ListenConfig, ifi *net.Interface) (*conn4, error) {
	pc, err := lc.ListenPacket(context.Background(), "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen ip4:112 on %s: %w", ifi.Name, err)
	}
	c := &conn4{ifi: ifi, pc: pc}
	fail := func(op string, err error) (*conn4, error) {
		pc.Close()
		return nil, fmt.Errorf("vrrp: %s on %s: %w", op, ifi.Name, err)
	}
	if c.raw, err = ipv4.NewRawConn(pc); err != nil {
		return fail("raw conn", err)
	}
	if err := c.raw.SetControlMessage(ipv4.FlagInterface, true); err != nil {
		return fail("control messages", err)
	}
	if err := c.raw.JoinGroup(ifi, &net.IPAddr{IP: vrrp.MulticastGroup4.AsSlice()}); err != nil {
		return fail("join 224.0.0.18", err)
	}
	if err := c.raw.SetMulticastInterface(ifi); err != nil {
		return fail("multicast interface", err)
	}
	if err := c.raw.SetMulticastLoopback(false); err != nil {
		return fail("multicast loopback", err)
	}
	if err := c.raw.SetMulticastTTL(255); err != nil {
		return fail("multicast TTL", err)
	}
	return c, nil
}

func (c *conn4) ReadPacket(buf []byte) (vrrp.Packet, error) {
	h, p, cm, err := c.raw.ReadFrom(buf)
	if err != nil {
		return vrrp.Packet{}, err
	}
	src, _ := netip.AddrFromSlice(h.Src.To4())
	dst, _ := netip.AddrFromSlice(h.Dst.To4())
	pk := vrrp.Packet{Src: src, Dst: dst, TTL: h.TTL, Payload: p}
	if cm != nil {
		pk.IfIndex = cm.IfIndex
	}
	return pk, nil
}

func (c *conn4) WritePacket(payload []byte, src, dst netip.Addr) error {
	h := &ipv4.Header{
		Version:  ipv4.Version,
		Len:      ipv4.HeaderLen,
		TOS:      0xc0, // Internetwork Control, as routers send their control traffic
		TotalLen: ipv4.HeaderLen + len(payload),
		TTL:      255,
		Protocol: vrrp.IPProtocolVRRP,
		Src:      src.AsSlice(),
		Dst:      dst.AsSlice(),
	}
	if err := c.raw.WriteTo(h, payload, nil); err != nil {
		return fmt.Errorf("vrrp: send to %v on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

func (c *conn4) Close() error { return c.pc.Close() }

type conn6 struct {
	ifi *net.Interface
	pc  net.PacketConn
	p   *ipv6.PacketConn
}

func listen6(lc net.ListenConfig, ifi *net.Interface) (*conn6, error) {
	pc, err := lc.ListenPacket(context.Background(), "ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("vrrp: listen ip6:112 on %s: %w", ifi.Name, err)
	}
	c := &conn6{ifi: ifi, pc: pc, p: ipv6.NewPacketConn(pc)}
	fail := func(op string, err error) (*conn6, error) {
		pc.Close()
		return nil, fmt.Errorf("vrrp: %s on %s: %w", op, ifi.Name, err)
	}
	if err := c.p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return fail("control messages", err)
	}
	if err := c.p.JoinGroup(ifi, &net.IPAddr{IP: vrrp.MulticastGroup6.AsSlice()}); err != nil {
		return fail("join ff02::12", err)
	}
	if err := c.p.SetMulticastInterface(ifi); err != nil {
		return fail("multicast interface", err)
	}
	if err := c.p.SetMulticastLoopback(false); err != nil {
		return fail("multicast loopback", err)
	}
	if err := c.p.SetMulticastHopLimit(255); err != nil {
		return fail("multicast hop limit", err)
	}
	if err := c.p.SetHopLimit(255); err != nil {
		return fail("hop limit", err)
	}
	return c, nil
}

func (c *conn6) ReadPacket(buf []byte) (vrrp.Packet, error) {
	n, cm, from, err := c.p.ReadFrom(buf)
	if err != nil {
		return vrrp.Packet{}, err
	}
	pk := vrrp.Packet{Payload: buf[:n], TTL: -1}
	if ia, ok := from.(*net.IPAddr); ok {
		pk.Src, _ = netip.AddrFromSlice(ia.IP)
	}
	if cm != nil {
		pk.TTL, pk.IfIndex = cm.HopLimit, cm.IfIndex
		pk.Dst, _ = netip.AddrFromSlice(cm.Dst)
	}
	return pk, nil
}

func (c *conn6) WritePacket(payload []byte, src, dst netip.Addr) error {
	cm := &ipv6.ControlMessage{HopLimit: 255, Src: src.AsSlice(), IfIndex: c.ifi.Index}
	to := &net.IPAddr{IP: dst.AsSlice()}
	if dst.IsLinkLocalUnicast() || dst.IsLinkLocalMulticast() || dst.IsInterfaceLocalMulticast() {
		// A numeric zone: a name would be resolved in the namespace of
		// whatever thread runs this, not the socket's.
		to.Zone = strconv.Itoa(c.ifi.Index)
	}
	if _, err := c.p.WriteTo(payload, cm, to); err != nil {
		return fmt.Errorf("vrrp: send to %v on %s: %w", dst, c.ifi.Name, err)
	}
	return nil
}

func (c *conn6) Close() error { return c.pc.Close() }

// pending asks the kernel whether a datagram waits in the socket (SIOCINQ
// gives the size of the next one). Control does not take the read lock, so
// it answers while the demultiplexer blocks in a read.
func pending(pc net.PacketConn) bool {
	sc, ok := pc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	n := 0
	rc.Control(func(fd uintptr) { n, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return n > 0
}

func (c *conn4) Pending() bool { return pending(c.pc) }
func (c *conn6) Pending() bool { return pending(c.pc) }
