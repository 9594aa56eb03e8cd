package vrrpd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/internal/buildinfo"
	"github.com/hachat/hachat/vrrp"
	"github.com/hachat/hachat/vrrp/vrrptest"
)

// TestReadinessMetricsAndStop checks the daemon's outside contract: it
// tells systemd READY=1 once serving and STOPPING=1 on SIGTERM, serves
// Prometheus metrics, and removes its addresses on the way out.
func TestReadinessMetricsAndStop(t *testing.T) {
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	nl, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nl.Close()
	t.Setenv("NOTIFY_SOCKET", notify)

	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	maddr := ml.Addr().String()
	ml.Close()
	conf := filepath.Join(dir, "vrrpd.yaml")
	sock := filepath.Join(dir, "s")
	cfg := fmt.Sprintf("global:\n  control_socket: %s\n  metrics_listen: %s\ninstances:\n  - name: vi\n    interface: eth0\n    vrid: 9\n    priority: 100\n    advert_interval: 20ms\n    virtual_addresses: [198.18.1.100/24]\n", sock, maddr)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	k := newFakeKernel(vrrptest.NewFakeLink(), "198.18.1.11")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	var logs bytes.Buffer
	hup := make(chan os.Signal, 1)
	go func() {
		done <- serveFile(ctx, conf, &syncWriter{w: &logs}, Options{Kernel: k, HUP: hup})
	}()

	readMsg := func(want string) {
		t.Helper()
		nl.SetReadDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 512)
		for {
			n, err := nl.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %q from sd_notify: %v", want, err)
			}
			if strings.Contains(string(buf[:n]), want) {
				return
			}
		}
	}
	readMsg("READY=1")
	waitFor(t, "VIP added", func() bool { return k.addrs.Has("eth0", frontVIP) })

	resp, err := http.Get("http://" + maddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`vrrpd_state{instance="vi",state="MASTER"} 1`,
		`vrrpd_transitions_total{from="BACKUP",instance="vi",to="MASTER"} 1`,
		`vrrpd_dropped_packets_total{instance="",interface="eth0",reason="ttl_not_255"} 0`,
		`vrrpd_timer_lateness_seconds_bucket{instance="vi",le="0.001"}`,
		`vrrpd_adverts_sent_total{instance="vi"}`,
		"go_goroutines",
		"vrrpd_notify_runs_total 0",
		"vrrpd_alert_mails_dropped_total 0",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// Prometheus naming (the *_build_info convention): which build runs.
	if want := `vrrpd_build_info{goversion="` + runtime.Version() + `",version="` + buildinfo.Version() + `"} 1`; !strings.Contains(string(body), want+"\n") {
		t.Errorf("/metrics lacks %s", want)
	}

	// One prefix for the whole daemon, Prometheus-style: every metric of
	// ours is vrrpd_* (the Go runtime's and the process's aside).
	for _, line := range strings.Split(string(body), "\n") {
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(line, "# HELP "), "# TYPE "), " ")
		name, _, _ = strings.Cut(name, "{")
		if name != "" && !strings.HasPrefix(name, "vrrpd_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("metric %q lacks the vrrpd_ prefix", name)
		}
	}

	// SIGHUP: systemd's notify-reload protocol.
	hup <- os.Interrupt
	readMsg("RELOADING=1\nMONOTONIC_USEC=")
	readMsg("READY=1")

	cancel()
	readMsg("STOPPING=1")
	if err := <-done; err != nil {
		t.Errorf("vrrpd: %v\n%s", err, logs.String())
	}
	if k.addrs.Has("eth0", frontVIP) {
		t.Error("VIP left behind after SIGTERM")
	}
	// The resigning Master sent a priority 0 advert.
	var zero bool
	for _, c := range k.conns {
		for _, p := range c.Sent {
			if a, err := vrrp.ParseAdvert(p.Payload, p.Src, p.Dst); err == nil && a.Priority == 0 {
				zero = true
			}
		}
	}
	if !zero {
		t.Error("no priority 0 advert on shutdown")
	}
}
