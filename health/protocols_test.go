package health

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// udpServer answers each datagram on loopback with reply(datagram), or
// not at all when reply returns nil.
func udpServer(t *testing.T, reply func([]byte) []byte) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if r := reply(buf[:n]); r != nil {
				c.WriteTo(r, from)
			}
		}
	}()
	return c.LocalAddr().String()
}

func closedUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := c.LocalAddr().String()
	c.Close()
	return addr
}

// shortCtx gives a probe half a second: long enough on a busy machine for a
// loopback answer, short enough that a silent server is judged quickly.
func shortCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// TestUDPCheck follows keepalived.conf(5) UDP_CHECK: without require_reply
// only an ICMP error (port unreachable) fails; with it, a reply must come
// and start with the expected bytes.
func TestUDPCheck(t *testing.T) {
	echo := udpServer(t, func(b []byte) []byte { return append([]byte{}, b...) })
	silent := udpServer(t, func([]byte) []byte { return nil })
	for _, tc := range []struct {
		name string
		u    UDP
		ctx  func(*testing.T) context.Context
		want FailureKind
	}{
		{"reply required and given", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, Expect: []byte("pi")}, probeCtx, ""},
		{"reply compared up to the shorter", UDP{Addr: echo, Payload: []byte("p"), RequireReply: true, Expect: []byte("pong")}, probeCtx, ""},
		{"reply differs", UDP{Addr: echo, Payload: []byte("ping"), RequireReply: true, Expect: []byte("pong")}, probeCtx, KindBody},
		{"port unreachable", UDP{Addr: closedUDP(t)}, probeCtx, KindRefused},
		{"silent server is up without require_reply", UDP{Addr: silent}, shortCtx, ""},
		{"silent server with require_reply", UDP{Addr: silent, RequireReply: true}, shortCtx, KindTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantKind(t, tc.u.Probe(tc.ctx(t)), tc.want)
		})
	}
}

// smtpServer serves one scripted SMTP dialogue per connection on loopback:
// greeting, then the reply to HELO; it records the HELO line.
func smtpServer(t *testing.T, greeting, heloReply string, helo chan<- string) string {
	t.Helper()
	ln := listen(t)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				c.Write([]byte(greeting))
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				select {
				case helo <- strings.TrimSpace(line):
				default:
				}
				c.Write([]byte(heloReply))
				if l, _ := r.ReadString('\n'); strings.HasPrefix(l, "QUIT") {
					c.Write([]byte("221 bye\r\n"))
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestSMTPCheck follows keepalived.conf(5) SMTP_CHECK and RFC 5321 §4.2:
// up after a 220 greeting (single or multi-line) and a 250 to HELO.
func TestSMTPCheck(t *testing.T) {
	for _, tc := range []struct {
		name            string
		greeting, reply string
		want            FailureKind
	}{
		{"220 then 250", "220 mx ESMTP\r\n", "250 mx\r\n", ""},
		{"multi-line greeting", "220-mx ESMTP\r\n220 ready\r\n", "250 mx\r\n", ""},
		{"554 no service", "554 go away\r\n", "250 mx\r\n", KindBody},
		{"HELO refused", "220 mx\r\n", "501 bad HELO\r\n", KindBody},
	} {
		t.Run(tc.name, func(t *testing.T) {
			helo := make(chan string, 1)
			addr := smtpServer(t, tc.greeting, tc.reply, helo)
			err := (&SMTP{Addr: addr, Helo: "lb.example.org"}).Probe(probeCtx(t))
			wantKind(t, err, tc.want)
			if tc.want == "" {
				if got := <-helo; got != "HELO lb.example.org" {
					t.Errorf("server got %q, want HELO lb.example.org (helo_name)", got)
				}
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		wantKind(t, (&SMTP{Addr: closedAddr(t)}).Probe(probeCtx(t)), KindRefused)
	})
}

// dnsServer answers each query with what edit makes of a copy of it.
func dnsServer(t *testing.T, edit func(q dnsmessage.Message) dnsmessage.Message) string {
	return udpServer(t, func(b []byte) []byte {
		var q dnsmessage.Message
		if err := q.Unpack(b); err != nil {
			return nil
		}
		m := edit(q)
		p, err := m.Pack()
		if err != nil {
			return nil
		}
		return p
	})
}

// TestDNSCheck follows keepalived.conf(5) DNS_CHECK and RFC 1035 §4.1.1: up
// when the response to our ID and question has RCODE 0.
func TestDNSCheck(t *testing.T) {
	answer := func(rcode dnsmessage.RCode) func(dnsmessage.Message) dnsmessage.Message {
		return func(q dnsmessage.Message) dnsmessage.Message {
			q.Header.Response, q.Header.RCode = true, rcode
			return q
		}
	}
	for _, tc := range []struct {
		name string
		srv  func(dnsmessage.Message) dnsmessage.Message
		want FailureKind
	}{
		{"NOERROR", answer(dnsmessage.RCodeSuccess), ""},
		{"SERVFAIL", answer(dnsmessage.RCodeServerFailure), KindBody},
		{"NXDOMAIN", answer(dnsmessage.RCodeNameError), KindBody},
		{"another question", func(q dnsmessage.Message) dnsmessage.Message {
			q.Header.Response = true
			q.Questions[0].Type = dnsmessage.TypeMX
			return q
		}, KindBody},
		{"another ID is not an answer", func(q dnsmessage.Message) dnsmessage.Message {
			q.Header.Response = true
			q.Header.ID++
			return q
		}, KindTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := dnsServer(t, tc.srv)
			ctx := probeCtx(t)
			if tc.want == KindTimeout {
				ctx = shortCtx(t)
			}
			wantKind(t, (&DNS{Addr: addr, Name: "example.org", Type: "A"}).Probe(ctx), tc.want)
		})
	}
	t.Run("port unreachable", func(t *testing.T) {
		wantKind(t, (&DNS{Addr: closedUDP(t)}).Probe(probeCtx(t)), KindRefused)
	})
	t.Run("bad type", func(t *testing.T) {
		wantKind(t, (&DNS{Addr: closedUDP(t), Type: "WKS"}).Probe(probeCtx(t)), KindConfig)
	})
}

// TestAllChecks: a real server with several checkers is up while all are
// (keepalived.conf(5), real_server: "Can be multiple of each type").
func TestAllChecks(t *testing.T) {
	up := ProberFunc(func(context.Context) error { return nil })
	down := ProberFunc(func(context.Context) error { return ErrBadReply })
	if err := (All{up, up}).Probe(probeCtx(t)); err != nil {
		t.Errorf("all up: %v", err)
	}
	if err := (All{up, down, up}).Probe(probeCtx(t)); !errors.Is(err, ErrBadReply) {
		t.Errorf("one down: %v, want ErrBadReply", err)
	}
	// Each probe of an All keeps its own timeout within the whole's.
	hang := ProberFunc(func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() })
	if err := (All{up, Bounded{Prober: hang, Timeout: time.Millisecond}}).Probe(probeCtx(t)); Classify(err) != KindTimeout {
		t.Errorf("bounded hang: %v, want a timeout well before the probe's 10s", err)
	}
}

// TestICMPLoopback follows RFC 792's echo on 127.0.0.1 and RFC 4443 §4's on
// ::1, which always answer; it needs a ping or raw socket.
func TestICMPLoopback(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1"} {
		t.Run(a, func(t *testing.T) {
			err := (&ICMP{Addr: mustAddr(a)}).Probe(probeCtx(t))
			if err != nil && strings.Contains(err.Error(), "no raw socket") {
				t.Skipf("no ping or raw socket here: %v", err)
			}
			if err != nil {
				t.Fatalf("ping %s: %v", a, err)
			}
		})
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }
