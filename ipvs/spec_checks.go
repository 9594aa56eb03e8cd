package ipvs

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/hachat/hachat/health"
)

// prober builds the probe of one check of the real server at rs.
func prober(ch *Check, rs netip.AddrPort) (health.Prober, error) {
	addr := rs.Addr()
	if ch.Address.IsValid() {
		addr = ch.Address
	}
	port := int(rs.Port())
	if ch.Port != 0 {
		port = ch.Port
	}
	hostport := netip.AddrPortFrom(addr, uint16(port)).String()
	var local net.Addr
	if ch.Source.IsValid() {
		local = &net.TCPAddr{IP: ch.Source.AsSlice()}
		if ch.Type == "udp" || ch.Type == "dns" {
			local = &net.UDPAddr{IP: ch.Source.AsSlice()}
		}
	}
	dialer := func() *net.Dialer {
		if local == nil {
			return nil
		}
		return &net.Dialer{LocalAddr: local}
	}
	switch ch.Type {
	case "tcp":
		return &health.TCP{Addr: hostport, Dialer: dialer()}, nil
	case "http", "https":
		h := &health.HTTP{URL: ch.Type + "://" + hostport + ch.Path, Host: ch.Host, SNI: ch.SNI, Digest: ch.Digest, Dialer: dialer()}
		h.ExpectStatus = append(h.ExpectStatus, ch.Status...)
		return h, nil
	case "exec":
		return &health.Exec{Argv: ch.Command, Env: append(os.Environ(),
			"REAL_SERVER="+addr.String(), "REAL_PORT="+strconv.Itoa(port))}, nil
	case "icmp":
		return &health.ICMP{Addr: addr, Source: ch.Source}, nil
	case "udp":
		return &health.UDP{Addr: hostport, Dialer: dialer(), Payload: ch.Payload, RequireReply: ch.RequireReply, Expect: ch.Expect}, nil
	case "smtp":
		return &health.SMTP{Addr: hostport, Dialer: dialer(), Helo: ch.Helo}, nil
	case "dns":
		return &health.DNS{Addr: hostport, Dialer: dialer(), Name: ch.QueryName, Type: ch.QueryType}, nil
	}
	return nil, fmt.Errorf("check type %q", ch.Type)
}
