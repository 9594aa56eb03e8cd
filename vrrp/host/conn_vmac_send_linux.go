//go:build linux

package host

import (
	"context"
	"fmt"
	"net"

	"github.com/hachat/hachat/vrrp"
	"golang.org/x/net/bpf"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Sending from the virtual router MAC.
//
// RFC 5798 §7.3: a Master sends its adverts with the virtual router MAC as
// the Ethernet source, so that the switches learn where the virtual MAC
// lives, and keepalived's use_vmac does so by default (vmac_xmit_base sends
// from the parent instead). A socket bound to the macvlan sends exactly
// that: the kernel puts the macvlan's MAC in the frame and hands it to the
// parent. The socket only sends: it joins no group, and a filter that
// accepts nothing keeps unread packets from queueing on it. The macvlan is
// up only while Master (see VMACLinks), which is when adverts are sent.

// DialVMAC opens the send-only VRRP socket of the virtual MAC interface
// ifname. IPv4 adverts keep their own header (the parent's primary address
// as source); IPv6 adverts keep the parent's link-local source, which the
// macvlan does not hold, so the socket may send from a non-local address
// (IPV6_FREEBIND). It needs CAP_NET_RAW.
func DialVMAC(ifname string, ipv6Family bool) (vrrp.Conn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifname, err)
	}
	lc := boundTo(ifname, ipv6Family)
	if ipv6Family {
		return dialVMAC6(lc, ifi)
	}
	return dialVMAC4(lc, ifi)
}

// acceptNothing is the filter of a send-only socket.
var acceptNothing = []bpf.RawInstruction{{Op: 0x6, K: 0}} // ret #0

func dialVMAC4(lc net.ListenConfig, ifi *net.Interface) (*conn4, error) {
	pc, err := lc.ListenPacket(context.Background(), "ip4:112", "0.0.0.0")
	if err != nil {
		return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifi.Name, err)
	}
	c := &conn4{ifi: ifi, pc: pc}
	fail := func(op string, err error) (*conn4, error) {
		pc.Close()
		return nil, fmt.Errorf("vrrp: %s on %s: %w", op, ifi.Name, err)
	}
	if c.raw, err = ipv4.NewRawConn(pc); err != nil {
		return fail("raw conn", err)
	}
	for _, set := range []struct {
		op string
		f  func() error
	}{
		{"filter", func() error { return c.raw.SetBPF(acceptNothing) }},
		{"multicast interface", func() error { return c.raw.SetMulticastInterface(ifi) }},
		{"multicast loopback", func() error { return c.raw.SetMulticastLoopback(false) }},
		{"multicast TTL", func() error { return c.raw.SetMulticastTTL(255) }},
	} {
		if err := set.f(); err != nil {
			return fail(set.op, err)
		}
	}
	return c, nil
}

func dialVMAC6(lc net.ListenConfig, ifi *net.Interface) (*conn6, error) {
	pc, err := lc.ListenPacket(context.Background(), "ip6:112", "::")
	if err != nil {
		return nil, fmt.Errorf("vrrp: send socket on %s: %w", ifi.Name, err)
	}
	c := &conn6{ifi: ifi, pc: pc, p: ipv6.NewPacketConn(pc)}
	for _, set := range []struct {
		op string
		f  func() error
	}{
		{"filter", func() error { return c.p.SetBPF(acceptNothing) }},
		{"multicast interface", func() error { return c.p.SetMulticastInterface(ifi) }},
		{"multicast loopback", func() error { return c.p.SetMulticastLoopback(false) }},
		{"multicast hop limit", func() error { return c.p.SetMulticastHopLimit(255) }},
		{"hop limit", func() error { return c.p.SetHopLimit(255) }},
	} {
		if err := set.f(); err != nil {
			pc.Close()
			return nil, fmt.Errorf("vrrp: %s on %s: %w", set.op, ifi.Name, err)
		}
	}
	return c, nil
}
