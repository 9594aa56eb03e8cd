package mailalert

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/mailalert/mailalerttest"
)

// TestKeepalivedConfSmtpAlertVRRP checks keepalived.conf(5) smtp_alert: a
// VRRP state change mails notification_email from smtp_server with the
// router_id in the subject.
func TestKeepalivedConfSmtpAlertVRRP(t *testing.T) {
	addr, got := mailalerttest.Server(t)
	m := New(Settings{Server: addr, From: "vrrpd@example.org", To: []string{"ops@example.org"}, RouterID: "lb1", ConnectTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.InstanceState("Instance", "VI_1", "MASTER")
	select {
	case msg := <-got:
		if s := mailalerttest.Subject(msg); s != "[lb1] VRRP Instance VI_1 - Entering MASTER state" {
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
	addr, got := mailalerttest.Server(t)
	m := New(Settings{Server: addr, From: "a@b", To: []string{"c@d", "e@f"}, RouterID: "lb1", ConnectTimeout: time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.RealServer("198.18.0.1:80", "[198.18.1.2]:80", false)
	select {
	case msg := <-got:
		if s := mailalerttest.Subject(msg); s != "[lb1] Realserver [198.18.1.2]:80 - DOWN" {
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
	m := New(Settings{Server: mailalerttest.Silent(t), From: "a@b", To: []string{"c@d"}, ConnectTimeout: time.Hour})
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

// TestRefusedConnectionCountsFailure: a server that refuses the connection
// counts one failure and tells OnFailure, nothing sent.
func TestRefusedConnectionCountsFailure(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now: connections are refused
	m := New(Settings{Server: addr, From: "a@b", To: []string{"c@d"}, ConnectTimeout: time.Minute})
	failed := make(chan error, 1)
	m.OnFailure(func(_ Alert, err error) { failed <- err })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	m.InstanceState("Instance", "VI_1", "FAULT")
	select {
	case err := <-failed:
		if err == nil {
			t.Fatal("nil error")
		}
	case <-time.After(time.Minute):
		t.Fatal("no failure reported")
	}
	if m.Failed.Load() != 1 || m.Sent.Load() != 0 {
		t.Errorf("failed %d sent %d, want 1 and 0", m.Failed.Load(), m.Sent.Load())
	}
}
