package vrrpd

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/config"
	"github.com/hachat/hachat/internal/mailalert/mailalerttest"
	"github.com/hachat/hachat/ipvs"
	"github.com/hachat/hachat/vrrp/router"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// withAlerts is withService mailing to server, the instance with smtp_alert.
func withAlerts(server string) string {
	cfg := strings.Replace(fmt.Sprintf(withService, 100), "global: {realtime_priority: 0}",
		"global:\n  realtime_priority: 0\n  router_id: lb1\n  alerts: {smtp_server: \""+server+"\", from: lb@example.org, to: [ops@example.org], connect_timeout: 1h}", 1)
	return strings.Replace(cfg, "    advert_interval: 20ms\n", "    advert_interval: 20ms\n    smtp_alert: true\n", 1)
}

// TestKeepalivedConfSmtpAlertTransition checks keepalived.conf(5)
// smtp_alert on a vrrp_instance: becoming MASTER mails
// "[router_id] VRRP Instance NAME - Entering MASTER state".
func TestKeepalivedConfSmtpAlertTransition(t *testing.T) {
	addr, got := mailalerttest.Server(t)
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, withAlerts(addr))); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(time.Minute)
	for {
		select {
		case msg := <-got:
			if mailalerttest.Subject(msg) == "[lb1] VRRP Instance front - Entering MASTER state" {
				return
			}
		case <-deadline:
			t.Fatal("no MASTER mail")
		}
	}
}

// TestKeepalivedConfSmtpAlertDeadServerNeverBlocks: a mail server that
// accepts and never answers delays neither the takeover nor the shutdown's
// transitions (each mails, so a blocking send would hang Shutdown).
func TestKeepalivedConfSmtpAlertDeadServerNeverBlocks(t *testing.T) {
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	n := NewNode(ctx, k, slog.New(slog.DiscardHandler), nil)
	defer func() { cancel(); n.Wait() }()
	if err := n.Apply(mustParse(t, withAlerts(mailalerttest.Silent(t)))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "front MASTER", func() bool { return n.Status()[0].State == "MASTER" })
	n.Shutdown()
	if s := n.alerts.mail.Sent.Load(); s != 0 {
		t.Errorf("sent %d mails to a server that never answers", s)
	}
}

// TestKeepalivedConfSmtpAlertRealServer: a real server with smtp_alert off
// is not mailed; one with it on is, as "Realserver [ADDR]:PORT - DOWN".
func TestKeepalivedConfSmtpAlertRealServer(t *testing.T) {
	addr, got := mailalerttest.Server(t)
	a := newAlerter()
	a.configure(mustParse(t, withAlerts(addr)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.mail.Run(ctx)
	rs := netip.MustParseAddrPort("198.18.2.21:6667")
	a.realServer(ipvs.RealServerChange{Service: "irc", RealServer: rs, Up: true, Alert: false}) // would arrive first
	a.realServer(ipvs.RealServerChange{Service: "irc", RealServer: rs, Up: false, Alert: true})
	select {
	case msg := <-got:
		if s := mailalerttest.Subject(msg); s != "[lb1] Realserver [198.18.2.21]:6667 - DOWN" {
			t.Fatalf("subject %q", s)
		}
	case <-time.After(time.Minute):
		t.Fatal("no mail")
	}
	if d := a.mail.Dropped.Load(); d != 0 {
		t.Errorf("dropped %d", d)
	}
}

// TestKeepalivedConfSmtpAlertSyncGroup checks smtp_alert on a
// vrrp_sync_group: one mail when every member has entered the state, none
// for members without smtp_alert of their own.
func TestKeepalivedConfSmtpAlertSyncGroup(t *testing.T) {
	addr, got := mailalerttest.Server(t)
	cfg := mustParse(t, withAlerts(addr))
	cfg.Instances[0].SMTPAlert = false
	cfg.Instances = append(cfg.Instances, cfg.Instances[0])
	cfg.Instances[1].Name = "back"
	cfg.SyncGroups = []config.SyncGroup{{Name: "G", Instances: []string{"front", "back"}, SMTPAlert: true}}
	a := newAlerter()
	a.configure(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.mail.Run(ctx)
	a.event(router.InstanceEvent{Instance: "front", Kind: "transition", To: "MASTER"})
	a.event(router.InstanceEvent{Instance: "back", Kind: "transition", To: "MASTER"})
	a.event(router.InstanceEvent{Instance: "back", Kind: "priority", To: "MASTER"})
	a.realServer(ipvs.RealServerChange{Service: "irc", RealServer: netip.MustParseAddrPort("198.18.2.21:6667"), Up: true, Alert: true})
	var subjects []string
	for len(subjects) < 2 {
		select {
		case msg := <-got:
			subjects = append(subjects, mailalerttest.Subject(msg))
		case <-time.After(time.Minute):
			t.Fatalf("mails %q, want 2", subjects)
		}
	}
	want := []string{"[lb1] VRRP Group G - Entering MASTER state", "[lb1] Realserver [198.18.2.21]:6667 - UP"}
	if !slices.Equal(subjects, want) {
		t.Errorf("mails %q, want %q", subjects, want)
	}
}
