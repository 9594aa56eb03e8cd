package ipvsvm

import (
	"bufio"
	"context"
	"net"
	"net/netip"
	"strings"
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

// dialVIP connects to the VM's VIP from the client until hostDials
// connections were answered or stop closes (the VM has powered off). The
// VIP exists only while the guest's TestVrrpdOverTAP runs, so failed
// dials are retried.
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
