package mailalert

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeSMTP accepts connections on loopback and speaks just enough SMTP
// (RFC 5321 §4.1) to take one message per connection, delivered on got.
func fakeSMTP(t *testing.T) (addr string, got chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got = make(chan string, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveSMTP(c, got)
		}
	}()
	return ln.Addr().String(), got
}

func serveSMTP(c net.Conn, got chan<- string) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(s string) { c.Write([]byte(s + "\r\n")) }
	say("220 fake ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"),
			strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var msg strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				msg.WriteString(l)
			}
			got <- msg.String()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 no")
		}
	}
}

func subject(msg string) string {
	for _, l := range strings.Split(msg, "\r\n") {
		if s, ok := strings.CutPrefix(l, "Subject: "); ok {
			return s
		}
	}
	return ""
}

// TestKeepalivedConfSmtpAlertVRRP checks keepalived.conf(5) smtp_alert: a
// VRRP state change mails notification_email from smtp_server with the
// router_id in the subject.
func TestKeepalivedConfSmtpAlertVRRP(t *testing.T) {
	addr, got := fakeSMTP(t)
	m := New(Settings{Server: addr, From: "vrrpd@example.org", To: []string{"ops@example.org"}, RouterID: "lb1", ConnectTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.InstanceState("Instance", "VI_1", "MASTER")
	select {
	case msg := <-got:
		if s := subject(msg); s != "[lb1] VRRP Instance VI_1 - Entering MASTER state" {
			t.Fatalf("subject %q", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no mail arrived")
	}
	deadline := time.Now().Add(time.Minute)
	for m.Sent.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("sent %d failed %d", m.Sent.Load(), m.Failed.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

// TestKeepalivedConfSmtpAlertRealServer checks the checker's mail when a
// real server goes down.
func TestKeepalivedConfSmtpAlertRealServer(t *testing.T) {
	addr, got := fakeSMTP(t)
	m := New(Settings{Server: addr, From: "a@b", To: []string{"c@d", "e@f"}, RouterID: "lb1", ConnectTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.RealServer("198.18.0.1:80", "[198.18.1.2]:80", false)
	select {
	case msg := <-got:
		if s := subject(msg); s != "[lb1] Realserver [198.18.1.2]:80 - DOWN" {
			t.Fatalf("subject %q", s)
		}
		if !strings.Contains(msg, "To: c@d, e@f") {
			t.Fatalf("recipients missing:\n%s", msg)
		}
	case <-time.After(time.Minute):
		t.Fatal("no mail arrived")
	}
}

// TestDeadServerNeverBlocks: a server that accepts but never greets must not
// block the caller; alerts past the queue are dropped and counted.
func TestDeadServerNeverBlocks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m := New(Settings{Server: ln.Addr().String(), From: "a@b", To: []string{"c@d"}, ConnectTimeout: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	n := QueueSize + 10
	for i := 0; i < n; i++ {
		m.InstanceState("Instance", "VI_1", "BACKUP")
	}
	// Run holds at most one alert; the rest beyond the queue are dropped.
	if d := m.Dropped.Load(); d < uint64(n-QueueSize-1) {
		t.Fatalf("dropped %d of %d, want at least %d", d, n, n-QueueSize-1)
	}
}

// TestMessageHeaderInjection: a newline in a name cannot add headers.
func TestMessageHeaderInjection(t *testing.T) {
	msg := string(Message(Settings{From: "a@b", To: []string{"c@d"}}, Alert{Subject: "x\r\nBcc: evil@x", Body: "b"}, time.Unix(0, 0)))
	if strings.Contains(msg, "\r\nBcc:") {
		t.Fatalf("header injected:\n%s", msg)
	}
}
