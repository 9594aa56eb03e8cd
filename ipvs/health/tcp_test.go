package health

import (
	"context"
	"net"
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
