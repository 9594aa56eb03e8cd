package vrrp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hachat/hachat/test/netns"
)

// TestVirtualRoutesFollowTheMaster: keepalived.conf(5) virtual_routes and
// virtual_rules, "add|del when changing to MASTER, to BACKUP", and a
// virtual_ipaddress on another device: the route, the rule and the address
// on lo are on the Master only, and move with it when it stops.
func TestVirtualRoutesFollowTheMaster(t *testing.T) {
	e := setup(t, vrrpd(t), vrrpd(t), true)
	const extra = "    virtual_routes: [{to: 198.19.9.0/24, type: blackhole}]\n" +
		"    virtual_rules: [{from: 198.19.8.0/24, table: 100, priority: 100}]\n" +
		"    device_addresses: [{address: 198.19.7.1/32, interface: lo}]\n"
	e.pair.Spec1.VrrpdExtra, e.pair.Spec2.VrrpdExtra = extra, extra
	e.elect()
	// held lists which of the route, the rule and the address h has.
	held := func(h *netns.Host) []string {
		var out []string
		for _, c := range []struct{ what, show, want string }{
			{"route", "ip route show 198.19.9.0/24", "blackhole"},
			{"rule", "ip rule show", "from 198.19.8.0/24 lookup 100"},
			{"address", "ip addr show dev lo", "198.19.7.1/32"},
		} {
			o, err := h.Run(e.ctx, strings.Fields(c.show)...)
			e.must(err)
			if strings.Contains(o, c.want) {
				out = append(out, c.what)
			}
		}
		return out
	}
	all := []string{"route", "rule", "address"}
	wait := func(what string, cond func() bool) {
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 10s", what)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	wait("lb1 (Master) holds the route, the rule and the address", func() bool { return slices.Equal(held(e.topo.LB1), all) })
	if h := held(e.topo.LB2); len(h) != 0 {
		t.Errorf("lb2 (Backup) holds %v", h)
	}
	e.must(e.pair.R1.Stop(5 * time.Second))
	e.pair.R1 = nil
	wait("lb2 (new Master) holds them", func() bool { return slices.Equal(held(e.topo.LB2), all) })
	if h := held(e.topo.LB1); len(h) != 0 {
		t.Errorf("stopped lb1 left %v", h)
	}
}
