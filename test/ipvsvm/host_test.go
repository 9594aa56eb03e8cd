package ipvsvm

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

// tapName is the VM's NIC on the host side, a port of the switch's bridge.
const tapName = "lbvm"

// hostDials is how many connections the host makes through the VM; the
// guest's TestVrrpdOverTAP waits for as many.
const hostDials = 4

// hostSide is what the VM balances between: a client and a real server in
// namespaces of this test, on one bridge with the VM's TAP.
type hostSide struct {
	sw         *netns.Switch
	client, rs *netns.Host
}

func newHostSide(t *testing.T) *hostSide {
	t.Helper()
	l := netns.NewT(t, "ipvm")
	h := &hostSide{sw: l.MustSwitch("sw"), client: l.MustHost("client"), rs: l.MustHost("rs1")}
	l.MustLink(h.client, h.sw, "eth0", netip.MustParsePrefix("198.18.1.10/24"))
	l.MustLink(h.rs, h.sw, "eth0", netip.MustParsePrefix("198.18.2.21/24"))
	ctx := context.Background()
	for _, c := range []struct {
		h    *netns.Host
		argv []string
	}{
		{h.client, []string{"ip", "route", "add", "default", "via", "198.18.1.11"}},
		{h.rs, []string{"ip", "route", "add", "default", "via", "198.18.2.254"}},
		{h.sw.Host, []string{"ip", "tuntap", "add", "dev", tapName, "mode", "tap"}},
		{h.sw.Host, []string{"ip", "link", "set", "dev", tapName, "master", netns.Bridge, "up"}},
	} {
		if out, err := c.h.Run(ctx, c.argv...); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
	var s *probe.Server
	if err := h.rs.Do(func() (err error) { s, err = probe.Listen("198.18.2.21:8080", "host-rs1"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return h
}

// tapPhase is one guest test that balances the host's connections: when
// the guest prints mark, the host dials hostDials connections.
type tapPhase struct{ name, test, mark string }

var tapPhases = []tapPhase{
	{"vrrpd", "TestVrrpdOverTAP", "GUEST-TAP-READY vrrpd"},
	{"keepalived", "TestKeepalivedOverTAP", "GUEST-TAP-READY keepalived"},
}

// consoleWatch records the guest console and closes a phase's channel
// when its mark appears.
type consoleWatch struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	phases []tapPhase
	seen   map[string]chan struct{}
}

func newConsoleWatch(ps ...tapPhase) *consoleWatch {
	c := &consoleWatch{phases: ps, seen: map[string]chan struct{}{}}
	for _, p := range ps {
		c.seen[p.mark] = make(chan struct{})
	}
	return c
}

func (c *consoleWatch) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A mark may straddle two writes: look at the new bytes and a tail.
	from := max(c.buf.Len()-64, 0)
	c.buf.Write(b)
	for _, p := range c.phases {
		ch := c.seen[p.mark]
		select {
		case <-ch:
		default:
			if bytes.Contains(c.buf.Bytes()[from:], []byte(p.mark)) {
				close(ch)
			}
		}
	}
	return len(b), nil
}

func (c *consoleWatch) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

// dialPhases waits for each phase's mark and then dials the VIP, until
// every phase is done or stop closes (the VM has powered off).
func (h *hostSide) dialPhases(c *consoleWatch, stop <-chan struct{}) map[string][]string {
	got := map[string][]string{}
	for _, p := range c.phases {
		select {
		case <-c.seen[p.mark]:
		case <-stop:
			return got
		}
		got[p.name] = h.dialVIP(stop)
	}
	return got
}

// dialVIP connects to the VM's VIP from the client until hostDials
// connections were answered or stop closes. The balancer may still be
// settling (its health check not yet up), so failed dials are retried.
func (h *hostSide) dialVIP(stop <-chan struct{}) []string {
	var got []string
	for len(got) < hostDials {
		var line string
		err := h.client.Do(func() error {
			c, err := net.DialTimeout("tcp", "198.18.1.100:80", time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			line, err = bufio.NewReader(c).ReadString('\n')
			return err
		})
		if err == nil {
			got = append(got, strings.TrimSpace(line))
			continue
		}
		select {
		case <-stop:
			return got
		case <-time.After(200 * time.Millisecond):
		}
	}
	return got
}
