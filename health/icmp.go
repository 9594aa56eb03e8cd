package health

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ICMP is keepalived's PING_CHECK: one ICMP (RFC 792) or ICMPv6 (RFC 4443
// §4) echo request, up when the matching echo reply arrives before the
// deadline. It uses an unprivileged ping socket where the kernel allows one
// (net.ipv4.ping_group_range), else a raw socket, which needs CAP_NET_RAW.
type ICMP struct {
	// Addr is the address to ping (the real server, or connect_ip).
	Addr netip.Addr
	// Source, when valid, is the source address (keepalived's bindto).
	Source netip.Addr
}

// errEchoUnreachable wraps the ICMP error a router sent back, so Classify
// calls it unreachable.
var errEchoUnreachable = fmt.Errorf("destination unreachable: %w", syscall.EHOSTUNREACH)

// Probe sends one echo request and waits for its reply.
func (p *ICMP) Probe(ctx context.Context) error {
	if !p.Addr.IsValid() {
		return fmt.Errorf("icmp check: no address: %w", ErrInvalidTarget)
	}
	addr := p.Addr.Unmap()
	conn, raw, err := listenICMP(addr.Is6(), p.Source)
	if err != nil {
		return fmt.Errorf("icmp check %v: %w", addr, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var idseq [4]byte
	rand.Read(idseq[:])
	id, seq := int(binary.BigEndian.Uint16(idseq[:2])), int(binary.BigEndian.Uint16(idseq[2:]))
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1 // ICMP, for ParseMessage
	if addr.Is6() {
		typ, reply, proto = ipv6.ICMPTypeEchoRequest, ipv6.ICMPTypeEchoReply, 58
	}
	// ICMPv6 checksums are filled in by the kernel on both socket kinds.
	b, err := (&icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("hachat-health")}}).Marshal(nil)
	if err != nil {
		return fmt.Errorf("icmp check %v: %w", addr, err)
	}
	var dst net.Addr = &net.UDPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	if raw {
		dst = &net.IPAddr{IP: addr.AsSlice(), Zone: addr.Zone()}
	}
	if _, err := conn.WriteTo(b, dst); err != nil {
		return fmt.Errorf("icmp check %v: %w", addr, ctxErr(ctx, err))
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			return fmt.Errorf("icmp check %v: %w", addr, ctxErr(ctx, err))
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil {
			continue // not ours to judge: a raw socket sees every ICMP packet
		}
		switch body := m.Body.(type) {
		case *icmp.Echo:
			// A ping socket rewrites the ID to its port and
			// filters replies for us; a raw socket sees every reply.
			if m.Type == reply && body.Seq == seq && (!raw || body.ID == id) && sameAddr(from, addr) {
				return nil
			}
		case *icmp.DstUnreach:
			if echoOf(body.Data, addr, seq) {
				return fmt.Errorf("icmp check %v: %w", addr, errEchoUnreachable)
			}
		}
	}
}

// listenICMP opens a ping socket, or a raw one where ping sockets are not
// allowed. raw tells which.
func listenICMP(v6 bool, src netip.Addr) (*icmp.PacketConn, bool, error) {
	network, rawNet, local := "udp4", "ip4:icmp", "0.0.0.0"
	if v6 {
		network, rawNet, local = "udp6", "ip6:ipv6-icmp", "::"
	}
	if src.IsValid() {
		local = src.String()
	}
	c, err := icmp.ListenPacket(network, local)
	if err == nil {
		return c, false, nil
	}
	c, rerr := icmp.ListenPacket(rawNet, local)
	if rerr != nil {
		// Not the server's fault: say what the host needs, and count it
		// as a configuration failure.
		return nil, false, fmt.Errorf("no ping socket (%v; see net.ipv4.ping_group_range) and no raw socket (%v; needs CAP_NET_RAW): %w",
			err, rerr, ErrInvalidTarget)
	}
	return c, true, nil
}

func sameAddr(from net.Addr, want netip.Addr) bool {
	var ip net.IP
	switch a := from.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	}
	got, ok := netip.AddrFromSlice(ip)
	return ok && got.Unmap() == want.WithZone("")
}

// echoOf reports whether the quoted datagram of an ICMP error is our echo
// request to addr: for IPv4 the quote starts with the IP header, for IPv6
// with the 40-byte fixed header.
func echoOf(quote []byte, addr netip.Addr, seq int) bool {
	var hdr int
	switch {
	case addr.Is4() && len(quote) >= 20:
		hdr = int(quote[0]&0x0f) * 4
		if dst, _ := netip.AddrFromSlice(quote[16:20]); dst != addr {
			return false
		}
	case addr.Is6() && len(quote) >= 40:
		hdr = 40
		if dst, _ := netip.AddrFromSlice(quote[24:40]); dst != addr.WithZone("") {
			return false
		}
	default:
		return false
	}
	return len(quote) >= hdr+8 && int(binary.BigEndian.Uint16(quote[hdr+6:hdr+8])) == seq
}

// ctxErr prefers the context's error to the deadline error it caused.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		return ctx.Err()
	}
	return err
}
