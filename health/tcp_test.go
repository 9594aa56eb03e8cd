package health

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTCPProbe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()

	t.Run("up", func(t *testing.T) {
		if err := (&TCP{Addr: ln.Addr().String()}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe of a listening port: %v", err)
		}
		select {
		case <-accepted:
		case <-time.After(10 * time.Second):
			t.Fatal("the listener never saw the connection")
		}
	})
	t.Run("refused", func(t *testing.T) {
		err := (&TCP{Addr: closedAddr(t)}).Probe(probeCtx(t))
		wantKind(t, err, KindRefused)
	})
	t.Run("expired deadline", func(t *testing.T) {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		defer cancel()
		err := (&TCP{Addr: ln.Addr().String()}).Probe(ctx)
		wantKind(t, err, KindTimeout)
	})
	t.Run("IPv6", func(t *testing.T) {
		ln6, err := net.Listen("tcp", "[::1]:0")
		if err != nil {
			t.Skipf("no IPv6 loopback: %v", err)
		}
		defer ln6.Close()
		go func() {
			if c, err := ln6.Accept(); err == nil {
				c.Close()
			}
		}()
		if err := (&TCP{Addr: ln6.Addr().String()}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe of [::1]: %v", err)
		}
	})
	t.Run("bound source address", func(t *testing.T) {
		ln2, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln2.Close()
		from := make(chan string, 1)
		go func() {
			if c, err := ln2.Accept(); err == nil {
				from <- c.RemoteAddr().(*net.TCPAddr).IP.String()
				c.Close()
			}
		}()
		d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
		if err := (&TCP{Addr: ln2.Addr().String(), Dialer: d}).Probe(probeCtx(t)); err != nil {
			t.Fatalf("probe: %v", err)
		}
		select {
		case got := <-from:
			if got != "127.0.0.2" {
				t.Errorf("connection came from %s, want 127.0.0.2", got)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no connection")
		}
	})
}

// lineServer accepts connections on ln and hands each to handle.
func lineServer(t *testing.T, ln net.Listener, handle func(c net.Conn)) {
	t.Helper()
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// ircPong answers "PING :x" with a PONG, as an IRC server does before
// registration (RFC 2812 §3.7.2), after a NOTICE like many servers send.
func ircPong(c net.Conn) {
	fmt.Fprintf(c, ":irc.test NOTICE * :*** Looking up your hostname\r\n")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return
	}
	if tok, ok := strings.CutPrefix(strings.TrimSpace(line), "PING "); ok {
		fmt.Fprintf(c, ":irc.test PONG irc.test %s\r\n", tok)
	}
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func TestTCPDialogue(t *testing.T) {
	ping := []byte("PING :hachat-health\r\n")
	pong := regexp.MustCompile(`(?m)^:\S+ PONG \S+ :hachat-health\r$`)

	irc := listen(t)
	lineServer(t, irc, ircPong)
	quitter := listen(t)
	lineServer(t, quitter, func(c net.Conn) {
		// Read the request first, so that the close is a FIN and not a
		// reset for unread data.
		bufio.NewReader(c).ReadString('\n')
		io.WriteString(c, "ERROR :Closing link (too many connections)\r\n")
	})
	silent := listen(t)
	lineServer(t, silent, func(c net.Conn) { io.Copy(io.Discard, c) })
	chatty := listen(t)
	lineServer(t, chatty, func(c net.Conn) {
		for range 100 {
			if _, err := io.WriteString(c, ":irc.test NOTICE * :motd line\r\n"); err != nil {
				return
			}
		}
	})

	tests := []struct {
		name    string
		probe   TCP
		timeout time.Duration
		want    FailureKind
	}{
		{name: "PING answered", probe: TCP{Addr: irc.Addr().String(), Send: ping, Expect: pong}},
		{name: "greeting only, no send", probe: TCP{Addr: irc.Addr().String(), Expect: regexp.MustCompile(`NOTICE`)}},
		{name: "send without expect", probe: TCP{Addr: irc.Addr().String(), Send: ping}},
		{name: "server refuses with ERROR", probe: TCP{Addr: quitter.Addr().String(), Send: ping, Expect: pong}, want: KindBody},
		{name: "server never answers", probe: TCP{Addr: silent.Addr().String(), Send: ping, Expect: pong},
			timeout: 200 * time.Millisecond, want: KindTimeout},
		{name: "no match within MaxRead", probe: TCP{Addr: chatty.Addr().String(), Expect: pong, MaxRead: 1000}, want: KindBody},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := probeCtx(t)
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			wantKind(t, tc.probe.Probe(ctx), tc.want)
		})
	}
}

func TestTCPTLS(t *testing.T) {
	// Borrow httptest's certificate (valid for example.com and 127.0.0.1).
	hs := httptest.NewTLSServer(http.NotFoundHandler())
	cfg := hs.TLS.Clone()
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())
	hs.Close()
	cfg.NextProtos = nil

	sni := make(chan string, 10)
	ln := tls.NewListener(listen(t), cfg)
	lineServer(t, ln, func(c net.Conn) {
		tc := c.(*tls.Conn)
		if err := tc.Handshake(); err != nil {
			return
		}
		sni <- tc.ConnectionState().ServerName
		ircPong(tc)
	})
	plain := listen(t)
	lineServer(t, plain, ircPong)

	ping := []byte("PING :x\r\n")
	pong := regexp.MustCompile(`PONG`)
	t.Run("handshake, SNI and dialogue", func(t *testing.T) {
		p := &TCP{Addr: ln.Addr().String(), TLS: &tls.Config{ServerName: "irc.example.net", InsecureSkipVerify: true},
			Send: ping, Expect: pong}
		if err := p.Probe(probeCtx(t)); err != nil {
			t.Fatal(err)
		}
		if got := <-sni; got != "irc.example.net" {
			t.Errorf("server saw SNI %q, want irc.example.net", got)
		}
	})
	t.Run("verified", func(t *testing.T) {
		p := &TCP{Addr: ln.Addr().String(), TLS: &tls.Config{ServerName: "example.com", RootCAs: roots}}
		if err := p.Probe(probeCtx(t)); err != nil {
			t.Fatal(err)
		}
		<-sni
	})
	t.Run("verification fails", func(t *testing.T) {
		p := &TCP{Addr: ln.Addr().String(), TLS: &tls.Config{ServerName: "wrong.example", RootCAs: roots}}
		wantKind(t, p.Probe(probeCtx(t)), KindTLS)
	})
	t.Run("plain server", func(t *testing.T) {
		p := &TCP{Addr: plain.Addr().String(), TLS: &tls.Config{InsecureSkipVerify: true}}
		wantKind(t, p.Probe(probeCtx(t)), KindTLS)
	})
}
