package vrrptest

import (
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// TestVirtualRoutesFollowTheMaster: keepalived.conf(5) virtual_routes and
// virtual_rules, "add|del when changing to MASTER, to BACKUP": the route
// and the rule are on the Master only, and move with it when it stops.
func TestVirtualRoutesFollowTheMaster(t *testing.T) {
	e := setup(t, vrrpd(t), vrrpd(t), true)
	const extra = "    virtual_routes: [{to: 198.19.9.0/24, type: blackhole}]\n" +
		"    virtual_rules: [{from: 198.19.8.0/24, table: 100, priority: 100}]\n"
	e.pair.Spec1.VrrpdExtra, e.pair.Spec2.VrrpdExtra = extra, extra
	e.elect()
	has := func(h *netns.Host) (route, rule bool) {
		r, err := h.Run(e.ctx, "ip", "route", "show", "198.19.9.0/24")
		e.must(err)
		l, err := h.Run(e.ctx, "ip", "rule", "show")
		e.must(err)
		return strings.Contains(r, "blackhole"), strings.Contains(l, "from 198.19.8.0/24 lookup 100")
	}
	wait := func(what string, cond func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("lb1 (Master) holds the route and the rule", func() bool { a, b := has(e.topo.LB1); return a && b })
	if a, b := has(e.topo.LB2); a || b {
		t.Errorf("lb2 (Backup) has the route %v, the rule %v", a, b)
	}
	e.must(e.pair.R1.Stop(5 * time.Second))
	e.pair.R1 = nil
	wait("lb2 (new Master) holds them", func() bool { a, b := has(e.topo.LB2); return a && b })
	if a, b := has(e.topo.LB1); a || b {
		t.Errorf("stopped lb1 left the route %v, the rule %v", a, b)
	}
}
