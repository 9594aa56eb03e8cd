package balancer

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

const (
	vip      = "198.18.1.100"
	vipFront = "198.18.1.100/24"
	vipBack  = "198.18.2.254/24"
)

// labConfig has one virtual service per scheduler, all on the same two
// apps, checked every 200 ms.
const labConfig = `global: {dataplane: nftables}
instances:
  - name: vi1
    interface: eth0
    vrid: 51
    priority: 100
    virtual_addresses: [198.18.1.100/24, 198.18.2.254/24]
virtual_servers:
  - name: rr
    address: 198.18.1.100:80
    scheduler: rr
    instance: vi1
    check: {type: tcp, interval: 200ms, timeout: 150ms, rise: 2, fall: 2}
    real_servers: [{address: 198.18.2.21:80}, {address: 198.18.2.22:80}]
  - name: wrr
    address: 198.18.1.100:81
    scheduler: wrr
    instance: vi1
    real_servers: [{address: 198.18.2.21:80, weight: 3}, {address: 198.18.2.22:80, weight: 1}]
  - name: sh
    address: 198.18.1.100:82
    scheduler: sh
    instance: vi1
    real_servers: [{address: 198.18.2.21:80}, {address: 198.18.2.22:80}]
  - name: chat
    address: 198.18.1.100:7001
    scheduler: mh
    instance: vi1
    check: {type: tcp, interval: 200ms, timeout: 150ms}
    real_servers: [{address: 198.18.2.21:7001}, {address: 198.18.2.22:7001}]
  - name: guarded
    address: 198.18.1.100:83
    scheduler: rr
    instance: vi1
    real_servers: [{address: 198.18.2.21:8383}]
  - name: rr6
    address: "[2001:2::100]:80"
    scheduler: rr
    instance: vi1
    real_servers: [{address: "[2001:2:0:2::21]:80"}, {address: "[2001:2:0:2::22]:80"}]
  - name: dr
    address: 198.18.1.100:8090
    scheduler: mh
    forwarding: dr
    instance: vi1
    real_servers: [{address: 198.18.2.21:8090}, {address: 198.18.2.22:8090}]
  - name: dr6
    address: "[2001:2::100]:8090"
    scheduler: mh
    forwarding: dr
    instance: vi1
    real_servers: [{address: "[2001:2:0:2::21]:8090"}, {address: "[2001:2:0:2::22]:8090"}]
`

type lab struct {
	t                testing.TB
	lab              *netns.Lab
	client, lb1, lb2 *netns.Host
	app1, app2       *netns.Host
	bal1, bal2       *netns.Proc
	web1, web2       *probe.Server
	echo1, echo2     net.Listener
	master           *netns.Host
	sw               *netns.Switch
	// loadPrefix goes before the load generator's command (taskset).
	loadPrefix []string
}

// newLab builds the topology, starts the apps' servers and both balancers,
// and makes lb1 master.
func newLab(t testing.TB) *lab {
	netns.RequireRoot(t, "nft", "conntrack")
	l := &lab{t: t, lab: netns.NewT(t, "lbt")}
	sw := l.lab.MustSwitch("sw")
	l.sw = sw
	p := netip.MustParsePrefix
	l.client = l.host("client")
	l.lab.MustLink(l.client, sw, "eth0", p("198.18.1.10/24"), p("198.18.2.10/24"))
	l.lb1 = l.host("lb1")
	l.lab.MustLink(l.lb1, sw, "eth0", p("198.18.1.11/24"), p("198.18.2.11/24"))
	l.lb2 = l.host("lb2")
	l.lab.MustLink(l.lb2, sw, "eth0", p("198.18.1.12/24"), p("198.18.2.12/24"))
	l.app1 = l.host("app1")
	l.lab.MustLink(l.app1, sw, "eth0", p("198.18.2.21/24"))
	l.app2 = l.host("app2")
	l.lab.MustLink(l.app2, sw, "eth0", p("198.18.2.22/24"))
	ctx := context.Background()
	for _, a := range []*netns.Host{l.app1, l.app2} {
		if out, err := a.Run(ctx, "ip", "route", "add", "default", "via", "198.18.2.254"); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	// IPv6 (RFC 5180 benchmarking range), on lb1 only: "nodad" makes the
	// addresses usable at once instead of after duplicate address detection.
	for _, c := range []struct {
		h    *netns.Host
		args []string
	}{
		{l.client, []string{"addr", "add", "2001:2::10/64", "dev", "eth0", "nodad"}},
		{l.lb1, []string{"addr", "add", "2001:2::100/64", "dev", "eth0", "nodad"}},
		{l.lb1, []string{"addr", "add", "2001:2:0:2::254/64", "dev", "eth0", "nodad"}},
		{l.app1, []string{"addr", "add", "2001:2:0:2::21/64", "dev", "eth0", "nodad"}},
		{l.app2, []string{"addr", "add", "2001:2:0:2::22/64", "dev", "eth0", "nodad"}},
		{l.app1, []string{"-6", "route", "add", "default", "via", "2001:2:0:2::254"}},
		{l.app2, []string{"-6", "route", "add", "default", "via", "2001:2:0:2::254"}},
		// IPv6 direct routing, as for IPv4 below; a Linux host answers
		// neighbour solicitations only for addresses of the interface
		// they arrive on, so the VIP on lo stays quiet by itself.
		{l.app1, []string{"addr", "add", "2001:2::100/128", "dev", "lo"}},
		{l.app2, []string{"addr", "add", "2001:2::100/128", "dev", "lo"}},
		{l.app1, []string{"-6", "rule", "add", "from", "2001:2::100", "table", "100"}},
		{l.app2, []string{"-6", "rule", "add", "from", "2001:2::100", "table", "100"}},
		{l.app1, []string{"-6", "route", "add", "2001:2::/64", "dev", "eth0", "table", "100"}},
		{l.app2, []string{"-6", "route", "add", "2001:2::/64", "dev", "eth0", "table", "100"}},
	} {
		if out, err := c.h.Run(ctx, append([]string{"ip"}, c.args...)...); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	l.serve(l.app1, "[2001:2:0:2::21]:80", "app1")
	l.serve(l.app2, "[2001:2:0:2::22]:80", "app2")
	l.web1 = l.serve(l.app1, "198.18.2.21:80", "app1")
	l.web2 = l.serve(l.app2, "198.18.2.22:80", "app2")
	l.echo1 = l.echo(l.app1, "198.18.2.21:7001")
	l.echo2 = l.echo(l.app2, "198.18.2.22:7001")
	// Direct routing: the apps hold the VIP on lo, do not answer ARP for
	// it, and send what comes from the VIP straight to the client's
	// segment instead of back through the balancer.
	for _, a := range []*netns.Host{l.app1, l.app2} {
		for _, cmd := range [][]string{
			{"ip", "addr", "add", "198.18.1.100/32", "dev", "lo"},
			{"ip", "rule", "add", "from", "198.18.1.100", "table", "100"},
			{"ip", "route", "add", "198.18.1.0/24", "dev", "eth0", "table", "100"},
		} {
			if out, err := a.Run(ctx, cmd...); err != nil {
				t.Fatalf("%v %s", err, out)
			}
		}
		for _, k := range []string{"net.ipv4.conf.all.arp_ignore", "net.ipv4.conf.eth0.arp_ignore"} {
			if err := a.Sysctl(k, "1"); err != nil {
				t.Fatal(err)
			}
		}
		for _, k := range []string{"net.ipv4.conf.all.arp_announce", "net.ipv4.conf.eth0.arp_announce"} {
			if err := a.Sysctl(k, "2"); err != nil {
				t.Fatal(err)
			}
		}
	}
	l.serve(l.app1, "198.18.1.100:8090", "app1")
	l.serve(l.app2, "198.18.1.100:8090", "app2")
	l.serve(l.app1, "[2001:2::100]:8090", "app1")
	l.serve(l.app2, "[2001:2::100]:8090", "app2")

	cfg := filepath.Join(l.lab.Dir(), "lb.yaml")
	if err := os.WriteFile(cfg, []byte(labConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l.bal1 = l.startBalancer(l.lb1, self, cfg)
	l.bal2 = l.startBalancer(l.lb2, self, cfg)
	l.becomeMaster(l.lb1, nil)
	return l
}

// host makes a host whose interfaces skip IPv6 duplicate address
// detection: until it ends, a link-local address is tentative and neighbour
// discovery from it waits, which on a loaded machine delayed the first
// replies of IPv6 connections past the tests' one-second dial timeout.
func (l *lab) host(name string) *netns.Host {
	h := l.lab.MustHost(name)
	if err := h.Sysctl("net.ipv6.conf.default.accept_dad", "0"); err != nil {
		l.t.Fatal(err)
	}
	return h
}

func (l *lab) serve(h *netns.Host, addr, name string) *probe.Server {
	var s *probe.Server
	if err := h.Do(func() (err error) { s, err = probe.Listen(addr, name); return err }); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { s.Close() })
	return s
}

// echo serves line echo on addr: the long-lived "chat" connections.
func (l *lab) echo(h *netns.Host, addr string) net.Listener {
	var ln net.Listener
	if err := h.Do(func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		l.t.Fatal(err)
	}
	l.t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	return ln
}

func (l *lab) startBalancer(h *netns.Host, self, cfg string) *netns.Proc {
	p, err := h.Start(context.Background(), "balancer", "env", helperEnv+"="+cfg, self, "-test.run=^$")
	if err != nil {
		l.t.Fatal(err)
	}
	l.waitLog(p, "READY nftables", 10*time.Second)
	return p
}

// waitLog waits until the process's log contains s.
func (l *lab) waitLog(p *netns.Proc, s string, d time.Duration) {
	l.t.Helper()
	deadline := time.Now().Add(d)
	for !strings.Contains(p.Log(), s) {
		if time.Now().After(deadline) || p.Exited() {
			l.t.Fatalf("%s: no %q in its log within %v:\n%s", p.Name(), s, d, p.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// becomeMaster does what vrrpd does on a transition: tell the new master's
// balancer first, then move the virtual addresses, then announce them (here
// by flushing the neighbours' ARP caches instead of gratuitous ARP).
func (l *lab) becomeMaster(h, old *netns.Host) {
	l.t.Helper()
	newBal, oldBal := l.bal1, l.bal2
	if h == l.lb2 {
		newBal, oldBal = l.bal2, l.bal1
	}
	n := strings.Count(newBal.Log(), "ROLE master")
	if err := newBal.Signal(syscall.SIGUSR1); err != nil {
		l.t.Fatal(err)
	}
	l.waitCount(newBal, "ROLE master", n+1)
	if old != nil {
		for _, a := range []string{vipFront, vipBack} {
			if err := old.DelAddr("eth0", netip.MustParsePrefix(a)); err != nil {
				l.t.Fatal(err)
			}
		}
		n := strings.Count(oldBal.Log(), "ROLE backup")
		oldBal.Signal(syscall.SIGUSR2)
		l.waitCount(oldBal, "ROLE backup", n+1)
	}
	for _, a := range []string{vipFront, vipBack} {
		if err := h.AddAddr("eth0", netip.MustParsePrefix(a)); err != nil {
			l.t.Fatal(err)
		}
	}
	for _, x := range []*netns.Host{l.client, l.app1, l.app2} {
		if out, err := x.Run(context.Background(), "ip", "neigh", "flush", "all"); err != nil {
			l.t.Fatalf("%v %s", err, out)
		}
	}
	l.master = h
}

func (l *lab) waitCount(p *netns.Proc, s string, n int) {
	l.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(p.Log(), s) < n {
		if time.Now().After(deadline) {
			l.t.Fatalf("%s: waiting for %q #%d:\n%s", p.Name(), s, n, p.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hit opens n connections from the client to addr, one after the other,
// and returns who answered each (an error string when none did).
func (l *lab) hit(addr string, n int) []string {
	var out []string
	err := l.client.Do(func() error {
		for range n {
			out = append(out, askName(addr))
		}
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return out
}

func askName(addr string) string {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return "error: " + err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "error: " + err.Error()
	}
	return strings.TrimSpace(line)
}

func tally(names []string) map[string]int {
	m := map[string]int{}
	for _, n := range names {
		if strings.HasPrefix(n, "error") {
			n = "error"
		}
		m[n]++
	}
	return m
}

// waitServing waits until addr answers through the VIP.
func (l *lab) waitServing(addr string) {
	l.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tries := 1; ; tries++ {
		got := l.hit(addr, 1)[0]
		if !strings.HasPrefix(got, "error") {
			if tries > 1 {
				l.t.Logf("%s answered on attempt %d", addr, tries)
			}
			return
		}
		l.t.Logf("%s attempt %d: %s", addr, tries, got)
		if time.Now().After(deadline) {
			l.t.Fatalf("%s never answered: %s\nlb1:\n%s", addr, got, l.bal1.Log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// session is one long-lived connection that sends a line every period and
// expects it back.
type session struct {
	c      net.Conn
	mu     sync.Mutex
	echoes int
	err    error
}

func (l *lab) openSessions(addr string, n int) []*session {
	var ss []*session
	err := l.client.Do(func() error {
		for range n {
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return err
			}
			ss = append(ss, &session{c: c})
		}
		return nil
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return ss
}

func (s *session) run(ctx context.Context, period time.Duration) {
	r := bufio.NewReader(s.c)
	for i := 0; ctx.Err() == nil; i++ {
		msg := fmt.Sprintf("ping %d\n", i)
		s.c.SetDeadline(time.Now().Add(5 * time.Second))
		_, err := io.WriteString(s.c, msg)
		var line string
		if err == nil {
			line, err = r.ReadString('\n')
		}
		if err == nil && line != msg {
			err = fmt.Errorf("echo %q, want %q", line, msg)
		}
		s.mu.Lock()
		if err != nil {
			s.err = err
			s.mu.Unlock()
			return
		}
		s.echoes++
		s.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(period):
		}
	}
}

func (s *session) state() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.echoes, s.err
}

// waitEchoes waits until every live session has echoed at least k more
// lines than in base; it returns the sessions that failed.
func waitEchoes(ss []*session, base []int, k int, d time.Duration) (failed []error, err error) {
	deadline := time.Now().Add(d)
	for {
		done := true
		failed = failed[:0]
		for i, s := range ss {
			n, e := s.state()
			if e != nil {
				failed = append(failed, e)
				continue
			}
			if n < base[i]+k {
				done = false
			}
		}
		if done {
			return failed, nil
		}
		if time.Now().After(deadline) {
			return failed, errors.New("sessions stalled")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func counts(ss []*session) []int {
	out := make([]int, len(ss))
	for i, s := range ss {
		out[i], _ = s.state()
	}
	return out
}

type hostPair struct{ h *netns.Host }
