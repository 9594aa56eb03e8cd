package probe_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
	"github.com/hachat/hachat/test/probe"
)

// TestProbeFollowsVIPAcrossNamespaces probes a VIP from a client namespace;
// removing the VIP from the server must show up as timeouts (the server
// drops packets for an address it no longer owns), and adding it back ends
// the gap.
func TestProbeFollowsVIPAcrossNamespaces(t *testing.T) {
	lab := netns.NewT(t, "probe")
	sw := lab.MustSwitch("sw")
	srv, cl := lab.MustHost("srv"), lab.MustHost("client")
	lab.MustLink(srv, sw, "eth0", netip.MustParsePrefix("198.18.7.11/24"))
	lab.MustLink(cl, sw, "eth0", netip.MustParsePrefix("198.18.7.10/24"))
	vip := netip.MustParsePrefix("198.18.7.100/24")
	if err := srv.AddAddr("eth0", vip); err != nil {
		t.Fatal(err)
	}
	var s *probe.Server
	if err := srv.Do(func() (err error) { s, err = probe.Listen(":7000", "srv"); return err }); err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p, err := probe.Start(ctx, probe.Config{Target: netip.AddrPortFrom(vip.Addr(), 7000), Enter: cl.Do})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitOK(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	down := p.Mark("vip removed")
	if err := srv.DelAddr("eth0", vip); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitFailed(ctx, down, 10); err != nil {
		t.Fatal(err)
	}
	up := p.Mark("vip back")
	if err := srv.AddAddr("eth0", vip); err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitOK(ctx, up); err != nil {
		t.Fatal(err)
	}
	g := p.Stop().Window(down, time.Time{}).Outage()
	if g.Failed < 10 || g.Reasons[probe.ReasonTimeout] != g.Failed || g.Unrecovered {
		t.Fatalf("outage = %v, want >= 10 probes, all timed out, and a recovery", g)
	}
	if g.NextOK.Before(up) {
		t.Errorf("a probe succeeded (%v) before the VIP came back (%v)", g.NextOK, up)
	}
	t.Logf("VIP removed for %v: %v", up.Sub(down).Round(time.Millisecond), g)
}
