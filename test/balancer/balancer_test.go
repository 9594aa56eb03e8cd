package balancer

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestNFTables runs the nftables data plane through its paces on one lab:
// distribution per scheduler, health-check failure and recovery, and
// long-lived connections across a failover and a failback.
func TestNFTables(t *testing.T) {
	l := newLab(t)
	l.waitServing(vip + ":80")

	t.Run("rr", func(t *testing.T) {
		got := tally(l.hit(vip+":80", 10))
		if diff := cmp.Diff(map[string]int{"app1": 5, "app2": 5}, got); diff != "" {
			t.Errorf("rr over 10 connections (-want +got):\n%s", diff)
		}
	})
	t.Run("rr ipv6", func(t *testing.T) {
		l.waitServing("[2001:2::100]:80")
		got := tally(l.hit("[2001:2::100]:80", 10))
		if diff := cmp.Diff(map[string]int{"app1": 5, "app2": 5}, got); diff != "" {
			t.Errorf("rr over 10 IPv6 connections (-want +got):\n%s", diff)
		}
	})
	t.Run("wrr", func(t *testing.T) {
		got := tally(l.hit(vip+":81", 8))
		if diff := cmp.Diff(map[string]int{"app1": 6, "app2": 2}, got); diff != "" {
			t.Errorf("wrr 3:1 over 8 connections (-want +got):\n%s", diff)
		}
	})
	t.Run("sh", func(t *testing.T) {
		got := tally(l.hit(vip+":82", 10))
		if len(got) != 1 || got["error"] != 0 {
			t.Errorf("sh from one client address: %v, want all 10 on one real server", got)
		}
	})
	t.Run("dr", func(t *testing.T) {
		got := tally(l.hit(vip+":8090", 20))
		if got["error"] != 0 || got["app1"] == 0 || got["app2"] == 0 {
			t.Errorf("DR mh over 20 connections: %v, want both apps and no errors", got)
		}
		out, err := l.lb1.Run(context.Background(), "nft", "list", "table", "netdev", "hachat_lb_dr")
		if err != nil || !strings.Contains(out, "@ll,48,48 set") || !strings.Contains(out, "dup to \"eth0\" drop") {
			t.Errorf("netdev DR table: %v\n%s", err, out)
		}
		// The frames left at ingress, before the balancer's IP stack:
		// its conntrack never saw these connections.
		if out, _ := l.lb1.Run(context.Background(), "conntrack", "-L", "-p", "tcp", "--dport", "8090"); strings.Contains(out, "dport=8090") {
			t.Errorf("DR connections went through the balancer's stack:\n%s", out)
		}
	})
	t.Run("dr ipv6", func(t *testing.T) {
		l.waitServing("[2001:2::100]:8090")
		got := tally(l.hit("[2001:2::100]:8090", 20))
		if got["error"] != 0 || got["app1"] == 0 || got["app2"] == 0 {
			t.Errorf("IPv6 DR mh over 20 connections: %v, want both apps and no errors", got)
		}
		if out, _ := l.lb1.Run(context.Background(), "conntrack", "-L", "-f", "ipv6", "-p", "tcp", "--dport", "8090"); strings.Contains(out, "dport=8090") {
			t.Errorf("IPv6 DR connections went through the balancer's stack:\n%s", out)
		}
	})
	t.Run("status", func(t *testing.T) {
		l.bal1.Signal(syscall.SIGHUP)
		l.waitLog(l.bal1, "TCP  198.18.1.100:7001 mh", 5*time.Second)
		log := l.bal1.Log()
		for _, w := range []string{"TCP  198.18.1.100:80 rr", "-> 198.18.2.21:80", "Masq", "up"} {
			if !strings.Contains(log, w) {
				t.Errorf("status table lacks %q:\n%s", w, log)
			}
		}
	})
	t.Run("reply guard", func(t *testing.T) { testGuard(t, l) })
	t.Run("health", func(t *testing.T) { testHealth(t, l) })
	t.Run("long-lived across failover and failback", func(t *testing.T) { testFailover(t, l, 20, 1) })
}

// testGuard: app1 opens a connection from a real server's service port
// (198.18.2.21:8383, of the "guarded" service), as a server's segment of a
// session the balancer has no conntrack entry for looks after a takeover.
// lb1 must drop it, and count it, rather than forward it un-NATed to the
// client, which would answer with a reset.
func testGuard(t *testing.T, l *lab) {
	err := l.app1.Do(func() error {
		d := net.Dialer{Timeout: time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("198.18.2.21"), Port: 8383}}
		c, err := d.Dial("tcp", "198.18.1.10:9")
		if err == nil {
			c.Close()
		}
		return err
	})
	if err == nil || errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("connection from a real server's service port: %v, want it dropped by the balancer", err)
	}
	out, err := l.lb1.Run(context.Background(), "nft", "list", "chain", "inet", "hachat_lb", "guard")
	m := regexp.MustCompile(`@guard4 counter packets (\d+)`).FindStringSubmatch(out)
	if err != nil || m == nil || m[1] == "0" {
		t.Errorf("guard rule did not count the drop: %v\n%s", err, out)
	}
}

// testHealth closes app2's listener: within fall × interval (+ the probe
// timeout and one reconcile round) new connections stop going to it; when
// it listens again they come back within rise × interval.
func testHealth(t *testing.T, l *lab) {
	const interval, fall, rise, timeout = 200 * time.Millisecond, 2, 2, 150 * time.Millisecond
	l.web2.Close()
	start := time.Now()
	// Generous bound: the box is shared and noisy; the measured time is logged.
	bound := fall*interval + timeout + 3*time.Second
	for {
		got := l.hit(vip+":80", 4)
		if tally(got)["app1"] == 4 {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("app2 still scheduled %v after its listener closed: %v", time.Since(start), got)
		}
	}
	t.Logf("failed real server out of rotation after %v (fall %d × interval %v = %v)", time.Since(start).Round(time.Millisecond), fall, interval, fall*interval)

	l.web2 = l.serve(l.app2, "198.18.2.22:80", "app2")
	start = time.Now()
	bound = rise*interval + timeout + 3*time.Second
	for {
		if tally(l.hit(vip+":80", 2))["app2"] > 0 {
			break
		}
		if time.Since(start) > bound {
			t.Fatalf("app2 not back %v after it listened again", time.Since(start))
		}
	}
	t.Logf("recovered real server back after %v (rise %d × interval %v = %v)", time.Since(start).Round(time.Millisecond), rise, interval, rise*interval)
}

// testFailover keeps n chat sessions through the VIP while the balancers
// fail over and back reps times; every session must survive.
func testFailover(t testing.TB, l *lab, n, reps int) {
	ss := l.openSessions(vip+":7001", n)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, s := range ss {
		go s.run(ctx, 20*time.Millisecond)
	}
	defer func() {
		for _, s := range ss {
			s.c.Close()
		}
	}()
	if failed, err := waitEchoes(ss, make([]int, n), 3, 10*time.Second); err != nil || len(failed) > 0 {
		t.Fatalf("before failover: %v %v", err, failed)
	}
	for rep := range reps {
		for _, step := range []struct {
			name     string
			to, from *hostPair
		}{
			{"failover", &hostPair{l.lb2}, &hostPair{l.lb1}},
			{"failback", &hostPair{l.lb1}, &hostPair{l.lb2}},
		} {
			base := counts(ss)
			l.becomeMaster(step.to.h, step.from.h)
			failed, err := waitEchoes(ss, base, 5, 15*time.Second)
			if err != nil || len(failed) > 0 {
				t.Fatalf("%s %d: %d of %d sessions broken (%v): %v", step.name, rep+1, len(failed), n, err, failed)
			}
		}
	}
	t.Logf("%d of %d long-lived connections alive across %d failovers and failbacks", n, n, reps)
}
